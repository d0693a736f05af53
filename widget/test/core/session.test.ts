import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { optedOut, SESSION_IDLE_MS, sessionId } from "../../src/core/session";
import { testEnv } from "../helpers";

beforeEach(() => {
  vi.useFakeTimers();
  sessionStorage.clear();
});
afterEach(() => vi.useRealTimers());

describe("sessions", () => {
  it("continue across pages and end after 30 idle minutes", () => {
    const env = testEnv();
    const first = sessionId(env);
    expect(first).toMatch(/^[a-z0-9]{16}$/);
    vi.advanceTimersByTime(SESSION_IDLE_MS - 1000);
    expect(sessionId(env)).toBe(first);
    vi.advanceTimersByTime(SESSION_IDLE_MS + 1);
    expect(sessionId(env)).not.toBe(first);
  });

  it("ignore a tampered stored session", () => {
    sessionStorage.setItem("gs_session", JSON.stringify({ id: "<script>", t: Date.now() }));
    expect(sessionId(testEnv())).toMatch(/^[a-z0-9]{16}$/);
    sessionStorage.setItem("gs_session", "{not json");
    expect(sessionId(testEnv())).toMatch(/^[a-z0-9]{16}$/);
  });

  it("work without storage", () => {
    const env = testEnv({ storage: () => null });
    expect(sessionId(env)).toMatch(/^[a-z0-9]{16}$/);
  });

  it("read Do Not Track in its historical spellings", () => {
    expect(optedOut(testEnv({ nav: { doNotTrack: "yes" } as unknown as Navigator }))).toBe(true);
    expect(optedOut(testEnv({ nav: { doNotTrack: "0" } as unknown as Navigator }))).toBe(false);
    expect(optedOut(testEnv({ nav: {} as Navigator }))).toBe(false);
  });
});
