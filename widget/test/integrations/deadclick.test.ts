import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clicks } from "../../src/integrations/clicks";
import { deadClicks } from "../../src/integrations/deadclick";
import { click, clientWith, drain } from "../helpers";

beforeEach(() => {
  vi.useFakeTimers();
  document.body.innerHTML =
    '<button id="dead">Save</button><button id="live">Open</button><a id="link" href="#x">Docs</a><div id="out"></div>';
  document.getElementById("live")!.addEventListener("click", () => {
    setTimeout(() => (document.getElementById("out")!.textContent = "opened"), 800);
  });
});
afterEach(() => vi.useRealTimers());

async function after(act: () => void) {
  const { client, sent } = clientWith([clicks(), deadClicks()], { captureClicks: false });
  act();
  await vi.advanceTimersByTimeAsync(3000);
  await drain(client);
  client.stop();
  return sent.events().filter((e) => e.type === "dead_click");
}
const $ = (id: string) => document.getElementById(id)!;

describe("dead clicks", () => {
  it("reports a button click with no response after 2750 ms", async () => {
    const dead = await after(() => click($("dead")));
    expect(dead).toHaveLength(1);
    expect(dead[0].target).toBe("button#dead[Save]");
  });

  it("is alive when the DOM changes within 2500 ms", async () => {
    expect(await after(() => click($("live")))).toHaveLength(0);
  });

  it("is alive when a request starts right after the click", async () => {
    const { client, sent } = clientWith([clicks(), deadClicks()], { captureClicks: false });
    click($("dead"));
    client.emit("activity", { kind: "request" });
    await vi.advanceTimersByTimeAsync(3000);
    await drain(client);
    expect(sent.events().filter((e) => e.type === "dead_click")).toHaveLength(0);
  });

  it("ignores links with href, modifier-key clicks and disabled buttons", async () => {
    expect(await after(() => click($("link")))).toHaveLength(0);
    expect(await after(() => click($("dead"), { ctrlKey: true }))).toHaveLength(0);
    ($("dead") as HTMLButtonElement).disabled = true;
    expect(await after(() => $("dead").dispatchEvent(new MouseEvent("click", { bubbles: true })))).toHaveLength(0);
  });
});
