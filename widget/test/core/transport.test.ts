import { describe, expect, it } from "vitest";
import { createTransport, MAX_DELAY, parseRetryAfter } from "../../src/core/transport";

function transport(statuses: (number | Error)[], retryAfter: string | null = null) {
  let t = 1000;
  const tr = createTransport(
    async () => {
      const s = statuses.shift()!;
      if (s instanceof Error) throw s;
      return { status: s, retryAfter };
    },
    () => t,
    () => 0.5,
  );
  return { tr, advance: (ms: number) => (t += ms) };
}

describe("transport", () => {
  it("sends, drops client errors, and splits on 413", async () => {
    const { tr } = transport([202, 400, 403, 413]);
    expect(await tr.send("x")).toBe("sent");
    expect(await tr.send("x")).toBe("drop");
    expect(await tr.send("x")).toBe("drop");
    expect(await tr.send("x")).toBe("split");
    expect(tr.wait()).toBe(0);
  });

  it("retries network errors, 408, 429 and 5xx with doubling backoff capped at 60 s", async () => {
    const { tr } = transport([new Error("offline"), 500, 503, 408, ...Array(10).fill(502)]);
    const waits: number[] = [];
    for (let i = 0; i < 14; i++) {
      expect(await tr.send("x")).toBe("retry");
      waits.push(tr.wait());
    }
    expect(waits.slice(0, 4)).toEqual([1000, 2000, 4000, 8000]);
    expect(Math.max(...waits)).toBe(MAX_DELAY);
  });

  it("honours Retry-After in seconds and as a date", async () => {
    const { tr } = transport([429], "7");
    expect(await tr.send("x")).toBe("retry");
    expect(tr.wait()).toBe(7000);
    expect(parseRetryAfter(new Date(61_000).toUTCString(), 1000)).toBe(60_000);
    expect(parseRetryAfter("soon", 0)).toBeNull();
  });

  it("resets the backoff after a success", async () => {
    const { tr, advance } = transport([500, 500, 202, 500]);
    await tr.send("x");
    await tr.send("x");
    advance(10_000);
    expect(await tr.send("x")).toBe("sent");
    await tr.send("x");
    expect(tr.wait()).toBe(1000);
  });
});
