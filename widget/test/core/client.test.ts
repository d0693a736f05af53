import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { bucket, sampled } from "../../src/core/session";
import { clientWith, drain, testEnv } from "../helpers";

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  sessionStorage.clear();
});
afterEach(() => vi.useRealTimers());

describe("client", () => {
  it("builds events with scrubbed URLs and batches them on the flush interval", async () => {
    history.replaceState(null, "", "/billing/12345?email=a@b.c");
    const { client, sent } = clientWith([]);
    client.capture("click", undefined, { target: "button#pay" });
    client.capture("custom", { name: "x" });
    expect(sent.bodies).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent.bodies).toHaveLength(1);
    const b = sent.bodies[0];
    expect(b.site_key).toBe("gs_site_test");
    expect(b.session_id).toMatch(/^[a-z0-9]{16}$/);
    expect(b.events.map((e) => e.type)).toEqual(["click", "custom"]);
    expect(b.events[0].url).toBe("http://localhost:3000/billing/:id");
    expect(new Set(b.events.map((e) => e.id)).size).toBe(2);
    history.replaceState(null, "", "/");
  });

  it("flushes friction sooner than the interval", async () => {
    const { client, sent } = clientWith([]);
    client.capture("failed_request", { method: "POST", status: 500, path: "/pay" });
    await vi.advanceTimersByTimeAsync(600);
    expect(sent.bodies).toHaveLength(1);
  });

  it("keeps events on a 503, saves them offline, and retries after Retry-After", async () => {
    const { client, sent } = clientWith([]);
    sent.respond = (n) => (n === 1 ? { status: 503, retryAfter: "10" } : { status: 202 });
    client.capture("click");
    await drain(client);
    expect(sent.bodies).toHaveLength(1);
    expect(JSON.parse(localStorage.getItem("gs_queue")!)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(9000);
    expect(sent.bodies).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(sent.bodies).toHaveLength(2);
    expect(sent.bodies[1].events[0].id).toBe(sent.bodies[0].events[0].id);
    expect(localStorage.getItem("gs_queue")).toBeNull();
  });

  it("sends the offline queue of an earlier page on start", async () => {
    localStorage.setItem("gs_queue", JSON.stringify([{ s: "oldsession1", e: { id: "x1", type: "click", ts: 1, url: "http://a.test/" } }]));
    const { sent } = clientWith([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(sent.bodies[0].session_id).toBe("oldsession1");
  });

  it("splits a batch on 413 and drops a single event the server refuses, reporting drops", async () => {
    const { client, sent } = clientWith([]);
    sent.respond = (n) => ({ status: n === 1 ? 413 : n === 4 ? 400 : 202 });
    for (let i = 0; i < 4; i++) client.capture("click");
    await drain(client);
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.bodies.map((b) => b.events.length)).toEqual([4, 2, 2]);
    client.capture("click");
    await drain(client);
    client.capture("click");
    await drain(client);
    const last = sent.bodies[sent.bodies.length - 1].events;
    expect(last[last.length - 1].data).toEqual({ name: "sdk_drops", rejected: 1 });
  });

  it("sends by beacon on pagehide and keeps what the beacon refused", () => {
    const env = testEnv({ beacon: vi.fn(() => false) });
    const { client } = clientWith([], {}, env);
    client.capture("click");
    window.dispatchEvent(new Event("pagehide"));
    expect(env.beacon).toHaveBeenCalledOnce();
    const [url, body] = (env.beacon as ReturnType<typeof vi.fn>).mock.calls[0];
    expect(url).toBe("http://gs.test/api/v1/events");
    expect(JSON.parse(body).events).toHaveLength(1);
    expect(JSON.parse(localStorage.getItem("gs_queue")!)).toHaveLength(1);
    client.stop();
  });

  it("captures nothing under Do Not Track or Global Privacy Control", () => {
    const nav = { ...navigator, doNotTrack: "1" } as Navigator;
    const { client } = clientWith([], {}, testEnv({ nav }));
    expect(client.capture("click")).toBeNull();
    const gpc = { globalPrivacyControl: true } as unknown as Navigator;
    expect(clientWith([], {}, testEnv({ nav: gpc })).client.capturing).toBe(false);
    expect(clientWith([], { respectDnt: false }, testEnv({ nav })).client.capturing).toBe(true);
  });

  it("samples sessions deterministically by id", () => {
    expect(sampled("abc", 0)).toBe(false);
    expect(sampled("abc", 1)).toBe(true);
    const ids = Array.from({ length: 2000 }, (_, i) => "s" + i);
    const share = ids.filter((id) => sampled(id, 0.25)).length / ids.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
    expect(bucket("abc")).toBe(bucket("abc"));
  });

  it("lets beforeSend rewrite or drop events, and bounds the queue", async () => {
    const { client, sent } = clientWith([], {
      maxQueue: 10,
      beforeSend: (e) => (e.type === "custom" ? null : { ...e, target: "x" }),
    });
    expect(client.capture("custom")).toBeNull();
    for (let i = 0; i < 15; i++) client.capture("click");
    expect(client.queueSize()).toBe(10);
    await drain(client);
    const evs = sent.events();
    expect(evs.filter((e) => e.type === "click").every((e) => e.target === "x")).toBe(true);
    expect(evs[evs.length - 1].data).toMatchObject({ name: "sdk_drops", queue_full: 5 });
  });

  it("identify sets user and account ids and forwards the identity hash", async () => {
    const { client, sent } = clientWith([]);
    client.identify("user-7", { accountId: "acct-1", email: "x@y.z" }, { userHash: "abc123" });
    client.capture("click");
    await drain(client);
    const [ident, clk] = sent.events();
    expect(ident).toMatchObject({ type: "identify", user_id: "user-7", account_id: "acct-1", data: { user_hash: "abc123" } });
    expect(JSON.stringify(ident)).not.toContain("x@y.z");
    expect(clk.user_id).toBe("user-7");
  });

  it("identify cuts long ids at 128 code units without splitting an emoji", async () => {
    const { client, sent } = clientWith([]);
    const long = "u".repeat(127) + "\u{1f9fe}tail";
    client.identify(long, { accountId: "a".repeat(127) + "\u{1f9fe}" });
    await drain(client);
    const [ident] = sent.events();
    expect(ident.user_id).toBe("u".repeat(127));
    expect(ident.account_id).toBe("a".repeat(127));
  });
});
