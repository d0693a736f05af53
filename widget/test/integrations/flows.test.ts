import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { flows } from "../../src/integrations/flows";
import { clientWith, drain } from "../helpers";

beforeEach(() => {
  vi.useFakeTimers();
  sessionStorage.clear();
});
afterEach(() => vi.useRealTimers());

describe("declared flows", () => {
  it("reports a flow that stops advancing as abandoned, once", async () => {
    const { client, sent } = clientWith([flows()], { flowTimeoutMs: 60_000 });
    client.emit("flow", ["checkout", 1, 3]);
    await vi.advanceTimersByTimeAsync(30_000);
    client.emit("flow", ["checkout", 2, 3]);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(client.queueSize()).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    await vi.advanceTimersByTimeAsync(120_000);
    await drain(client);
    client.stop();
    expect(sent.events().map((e) => e.data)).toEqual([{ flow: "checkout", step: 2, steps: 3 }]);
  });

  it("forgets a completed flow and rejects bad declarations", async () => {
    const { client, sent } = clientWith([flows()], { flowTimeoutMs: 1000 });
    client.emit("flow", ["signup", 1, 2]);
    client.emit("flow", ["signup", 2, 2]);
    client.emit("flow", ["", 1, 2]);
    client.emit("flow", ["x", "a", 2]);
    await vi.advanceTimersByTimeAsync(5000);
    await drain(client);
    client.stop();
    expect(sent.events()).toHaveLength(0);
  });

  it("reports a stale flow left by the previous page when the next page loads", async () => {
    sessionStorage.setItem("gs_flows", JSON.stringify({ upgrade: { step: 1, steps: 4, t: Date.now() - 10_000 } }));
    const { client, sent } = clientWith([flows()], { flowTimeoutMs: 5000 });
    await drain(client);
    client.stop();
    expect(sent.events()[0]).toMatchObject({ type: "form_abandon", data: { flow: "upgrade", step: 1, steps: 4 } });
  });
});
