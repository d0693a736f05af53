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
