import type { SdkClient } from "zendesk_app_framework_sdk";
import { afterEach, describe, expect, it, vi } from "vitest";
import { connect, NotInZendesk, resetForTests, toRequestError, wrapClient } from "../src/zaf";

function sdk(overrides: Partial<SdkClient> = {}): SdkClient & { emit(name: string, data: unknown): void } {
  const handlers = new Map<string, ((d: unknown) => void)[]>();
  return {
    on: (name, h) => { handlers.set(name, [...(handlers.get(name) ?? []), h]); },
    get: async (path) => ({ [String(path)]: 7, errors: {} }),
    invoke: async () => null,
    request: async () => ({ ok: true }),
    metadata: async () => ({}),
    context: async () => ({}),
    emit(name, data) { for (const h of handlers.get(name) ?? []) h(data); },
    ...overrides,
  };
}

afterEach(() => resetForTests());

describe("the ZAF seam", () => {
  it("initialises the client once and resolves when the app is registered", async () => {
    const client = sdk();
    const init = vi.fn(() => client);
    const first = connect(init);
    const second = connect(init);
    expect(first).toBe(second);
    expect(init).toHaveBeenCalledTimes(1);
    client.emit("app.registered", { metadata: { settings: { backend_url: "https://x.test" } },
                                    context: { location: "nav_bar" } });
    const zaf = await first;
    expect(zaf.location).toBe("nav_bar");
    expect(zaf.settings).toEqual({ backend_url: "https://x.test" });
    expect(Object.isFrozen(zaf.settings)).toBe(true);
  });

  it("rejects when the page is not inside Zendesk", async () => {
    await expect(connect(() => false)).rejects.toBeInstanceOf(NotInZendesk);
  });

  it("returns the value at the asked path", async () => {
    const zaf = wrapClient(sdk(), {}, {});
    expect(await zaf.get("ticket.id")).toBe(7);
  });

  it("turns request failures into RequestErrors with the server's message", async () => {
    const failing = sdk({ request: () => Promise.reject({ status: 409, statusText: "CONFLICT",
      responseText: JSON.stringify({ error: { code: "conflict", message: "The incident is resolved." } }) }) });
    const zaf = wrapClient(failing, {}, {});
    await expect(zaf.request({ url: "https://x.test", type: "GET" }))
      .rejects.toMatchObject({ name: "RequestError", status: 409, code: "conflict", message: "The incident is resolved." });
  });

  it("normalises odd rejections", () => {
    expect(toRequestError({ status: 0, statusText: "error" })).toMatchObject({ status: 0, code: "network" });
    expect(toRequestError({ status: 502, responseText: "<html>bad gateway</html>", statusText: "Bad Gateway" }))
      .toMatchObject({ status: 502, code: "http_502", message: "Bad Gateway" });
    expect(toRequestError({ status: 400, responseJSON: { error: { code: "bad_request", message: "m".repeat(900) } } })
      .message).toHaveLength(500);
    expect(toRequestError("timeout")).toMatchObject({ status: 0, message: "timeout" });
  });
});
