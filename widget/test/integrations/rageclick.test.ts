import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clicks } from "../../src/integrations/clicks";
import { rageClicks } from "../../src/integrations/rageclick";
import { click, clientWith, drain } from "../helpers";

beforeEach(() => {
  vi.useFakeTimers();
  document.body.innerHTML = '<button id="pay">Pay</button><button id="other">Other</button><button id="next">next</button><input id="q">';
});
afterEach(() => vi.useRealTimers());

async function run(steps: (() => void)[], gap = 200) {
  const { client, sent } = clientWith([clicks(), rageClicks()], { captureClicks: false });
  for (const s of steps) {
    s();
    await vi.advanceTimersByTimeAsync(gap);
  }
  await vi.advanceTimersByTimeAsync(1100);
  await drain(client);
  client.stop();
  return sent.events().filter((e) => e.type === "rage_click");
}
const $ = (id: string) => document.getElementById(id)!;

describe("rage clicks", () => {
  it("fires once per burst of 3+ quick clicks, with the count", async () => {
    const rage = await run(Array(5).fill(() => click($("pay"))));
    expect(rage).toHaveLength(1);
    expect(rage[0].data).toEqual({ count: 5 });
    expect(rage[0].target).toBe("button#pay[Pay]");
  });

  it("needs 3 clicks, each within 1000 ms of the previous", async () => {
    expect(await run(Array(2).fill(() => click($("pay"))))).toHaveLength(0);
    expect(await run(Array(3).fill(() => click($("pay"))), 1100)).toHaveLength(0);
    expect(await run(Array(3).fill(() => click($("pay"))), 950)).toHaveLength(1);
  });

  it("counts nearby clicks on different elements but not distant ones", async () => {
    const near = [() => click($("pay")), () => click($("other"), { clientX: 20 }), () => click($("pay"), { clientX: 25 })];
    expect(await run(near)).toHaveLength(1);
    const far = [() => click($("pay")), () => click($("other"), { clientX: 200 }), () => click($("pay"), { clientX: 400 })];
    expect(await run(far)).toHaveLength(0);
  });

  it("ignores steppers and text inputs, and a scroll cancels the burst", async () => {
    expect(await run(Array(4).fill(() => click($("next"))))).toHaveLength(0);
    expect(await run(Array(4).fill(() => click($("q"))))).toHaveLength(0);
    const scrolled = [() => click($("pay")), () => click($("pay")), () => window.dispatchEvent(new Event("scroll")), () => click($("pay"))];
    expect(await run(scrolled, 100)).toHaveLength(0);
  });
});
