import { describe, expect, it } from "vitest";
import { t } from "../src/i18n";
import { createFormatter } from "../src/format";

describe("translations", () => {
  it("fills slots and picks plural forms", () => {
    expect(t("sidebar.banner.title", { id: 12 })).toBe("Known issue: incident #12");
    expect(t("sidebar.ago.hours", { count: 1 })).toBe("1 hour");
    expect(t("sidebar.ago.hours", { count: 3 })).toBe("3 hours");
  });

  it("throws on a missing key, and leaves unknown slots visible", () => {
    expect(() => t("sidebar.nope")).toThrow(/missing translation/);
    expect(t("x", {}, { x: "a {b} c" })).toBe("a {b} c");
  });

  it("does not interpret slot values", () => {
    expect(t("sidebar.rename.done", { name: "{id} $& <b>" })).toBe("Topic renamed to “{id} $& <b>”.");
  });
});

describe("formatter", () => {
  const now = Date.parse("2026-11-23T12:00:00Z");
  it("formats times in the agent's zone and says how long ago", () => {
    const fmt = createFormatter("en-GB", "Europe/Paris", () => now);
    expect(fmt.time("2026-11-23T10:04:00Z")).toBe("23 Nov, 11:04");
    expect(fmt.ago("2026-11-23T11:59:00Z")).toBe("1 minute");
    expect(fmt.ago("2026-11-23T09:00:00Z")).toBe("3 hours");
    expect(fmt.ago("2026-11-19T12:00:00Z")).toBe("4 days");
    expect(fmt.time(null)).toBe("");
  });

  it("shows a sentence's first-seen clock in the agent's zone", () => {
    const fmt = createFormatter("en-GB", "Asia/Kolkata", () => now);
    const said = "17 tickets from 15 customers in 2 h about 'pdf'; expected 1.2 customers; first seen 23:04 UTC";
    expect(fmt.sentence(said, "2026-11-22T23:04:00Z")).toBe(said.replace("23:04 UTC", "04:34"));
    expect(fmt.sentence(said, null)).toBe(said);
    // every clock, each the moment nearest the first-seen time (an hour that began before midnight UTC)
    const friction = "12 failed requests on /invoices in the hour from 23:00 UTC, above normal since 00:04 UTC.";
    expect(fmt.sentence(friction, "2026-11-22T23:58:00Z"))
      .toBe("12 failed requests on /invoices in the hour from 04:30, above normal since 05:34.");
    expect(fmt.sentence("not a clock: 24:00 UTC", "2026-11-22T23:58:00Z")).toBe("not a clock: 24:00 UTC");
    expect(createFormatter("en-US", "UTC").sentence(said, "2026-11-22T23:04:00Z")).toContain("first seen 11:04 PM");
  });

  it("falls back when the locale or zone is unusable", () => {
    const fmt = createFormatter("??", "Mars/Olympus", () => now);
    expect(fmt.time("2026-11-23T10:04:00Z")).not.toBe("");
    expect(fmt.number(1234.56)).toMatch(/1.?234\.6|1.?234,6/);
  });
});
