import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { failedRequests } from "../../src/integrations/network";
import { clientWith, drain } from "../helpers";

let realFetch: typeof fetch;
beforeEach(() => {
  realFetch = window.fetch;
  window.fetch = vi.fn(async (input: RequestInfo | URL) => {
    const url = String(input);
    if (url.includes("offline")) throw new TypeError("Failed to fetch");
    return new Response("{}", { status: url.includes("fail") ? 500 : 200 });
  }) as typeof fetch;
});
afterEach(() => {
  window.fetch = realFetch;
});

describe("failed requests", () => {
  it("reports fetch failures with method, status and a scrubbed path", async () => {
    const { client, sent } = clientWith([failedRequests()]);
    await window.fetch("/api/fail/invoices/98765?token=abc", { method: "post" });
    await window.fetch("/api/ok/1").catch(() => undefined);
    await window.fetch("https://other.test/offline/3f2b9c4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f").catch(() => undefined);
    await drain(client);
    client.stop();
    const evs = sent.events();
    expect(evs.map((e) => e.data)).toEqual([
      { method: "POST", status: 500, path: "/api/fail/invoices/:id" },
      { method: "GET", status: 0, path: "/offline/:id", host: "other.test" },
    ]);
    expect(JSON.stringify(evs)).not.toContain("token");
  });

  it("passes unreadable input through to the page's fetch unchanged", async () => {
    const inner = window.fetch;
    const { client } = clientWith([failedRequests()]);
    expect(window.fetch).not.toBe(inner);
    await window.fetch("http://[bad", { method: "GET" }).catch(() => undefined);
    client.stop();
    expect(window.fetch).toBe(inner);
    expect((inner as unknown as ReturnType<typeof vi.fn>).mock.calls[0][0]).toBe("http://[bad");
  });

  it("never reports our own endpoint and restores fetch on stop", async () => {
    const { client, sent } = clientWith([failedRequests()]);
    await window.fetch("http://gs.test/api/v1/fail");
    await drain(client);
    expect(sent.events()).toHaveLength(0);
    client.stop();
    expect(vi.isMockFunction(window.fetch)).toBe(true);
  });

  it("reports failed XMLHttpRequests", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined); // jsdom logs the refused loopback connection
    const { client, sent } = clientWith([failedRequests()]);
    const xhr = new XMLHttpRequest();
    xhr.open("DELETE", "http://127.0.0.1:9/items/12345");
    const done = new Promise((r) => xhr.addEventListener("loadend", r));
    xhr.send();
    await done;
    await new Promise((r) => setTimeout(r, 0));
    await drain(client);
    client.stop();
    expect(sent.events()[0].data).toMatchObject({ method: "DELETE", status: 0, path: "/items/:id" });
  });
});
