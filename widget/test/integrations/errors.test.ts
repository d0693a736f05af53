import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clicks } from "../../src/integrations/clicks";
import { errorClicks, jsErrors, tokenBucket } from "../../src/integrations/errors";
import { click, clientWith, drain } from "../helpers";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function fire(message: string, error?: unknown) {
  window.dispatchEvent(new ErrorEvent("error", { message, error, filename: "https://app.test/app.js?v=1", lineno: 3 }));
}

describe("js errors", () => {
  it("captures uncaught errors and rejections, scrubbed", async () => {
    const { client, sent } = clientWith([jsErrors()]);
    fire("x", new TypeError("no user jane@acme.io with card 4111 1111 1111 1111"));
    const rejection = new Event("unhandledrejection") as Event & { reason: unknown };
    rejection.reason = new Error("token=abc123secret failed");
    window.dispatchEvent(rejection);
    await drain(client);
    client.stop();
    const [a, b] = sent.events();
    expect(a.data).toEqual({ message: "TypeError: no user [email] with card [number]", source: "https://app.test/app.js:3" });
    expect(b.data).toEqual({ message: "Error: token=[redacted] failed", source: "promise" });
  });

  it("drops browser noise and limits one message to a bucket of 10", async () => {
    const { client, sent } = clientWith([jsErrors()]);
    fire("Script error.");
    fire("ResizeObserver loop limit exceeded");
    for (let i = 0; i < 15; i++) fire("boom");
    await drain(client);
    expect(sent.events()).toHaveLength(10);
    client.stop();
  });

  it("token bucket refills one per 10 s", () => {
    let t = 0;
    const allow = tokenBucket(() => t, 2, 10_000);
    expect([allow("a"), allow("a"), allow("a")]).toEqual([true, true, false]);
    t = 10_000;
    expect([allow("a"), allow("a"), allow("b")]).toEqual([true, false, true]);
  });

  it("ties an error within 2 s of a click to that click", async () => {
    document.body.innerHTML = '<button id="b">Pay</button>';
    const { client, sent } = clientWith([errorClicks(), clicks(), jsErrors()], { captureClicks: false });
    click(document.getElementById("b")!);
    await vi.advanceTimersByTimeAsync(500);
    fire("after click");
    await vi.advanceTimersByTimeAsync(2500);
    fire("much later");
    await drain(client);
    client.stop();
    const [near, far] = sent.events();
    expect(near.data!.error_click).toBe(true);
    expect(near.target).toBe("button#b[Pay]");
    expect(far.data!.error_click).toBeUndefined();
  });
});
