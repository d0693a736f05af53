import { describe, expect, it } from "vitest";
import { createFormatter, replaceClocks } from "../src/format";
import { CLOCK_CASES, describeClockCases } from "../../tests/fixtures/utc_clock_cases";

describeClockCases("replaceClocks", () => replaceClocks);

describe("sentence", () => {
  it("shows each of the table's clocks at its moment in the agent's zone", () => {
    const fmt = createFormatter("en-GB", "Asia/Kolkata");
    const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Kolkata" });
    for (const c of CLOCK_CASES) {
      const between = replaceClocks(c.sentence, c.first_seen, () => "\u0000").split("\u0000");
      const shown = between.map((text, i) => text + (i < c.clocks.length ? clock.format(Date.parse(c.clocks[i].utc)) : ""));
      expect(fmt.sentence(c.sentence, c.first_seen), c.name).toBe(shown.join(""));
    }
  });
});

describe("clock", () => {
  const now = Date.parse("2026-11-23T14:30:00Z");
  it("says a moment of the last day by its clock in the agent's zone, an older one with its date", () => {
    const fmt = createFormatter("en-GB", "Asia/Kolkata", () => now);
    expect(fmt.clock("2026-11-23T14:02:00Z")).toBe("19:32");
    expect(fmt.clock("2026-11-22T15:00:00Z")).toBe("20:30");
    expect(fmt.clock("2026-11-22T14:00:00Z")).toBe("22 Nov, 19:30");
    expect(fmt.clock("not a time")).toBe("");
    expect(fmt.clock(null)).toBe("");
  });
});
