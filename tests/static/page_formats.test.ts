// page.js's one way of writing counts, dates and moments (GS.count, GS.day, GS.recent beside GS.when), which
// the dashboard and the incidents page's sections share; loaded as the pages load the plain script.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

interface PageHelpers {
  when(iso: string | null): string;
  day(iso: string | null, timeZone?: string): string;
  recent(iso: string | null): string;
  count(n: unknown, digits?: number): string;
}

let GS: PageHelpers;

beforeAll(() => {
  const page = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "server", "static", "page.js");
  new Function(readFileSync(page, "utf8"))();
  GS = (window as unknown as { GS: PageHelpers }).GS;
});

const SECONDS = /\d:\d{2}:\d{2}/;

describe("GS.count", () => {
  it("writes a count with the reader's thousands separators", () => {
    expect(GS.count(1986)).toBe((1986).toLocaleString());
    expect(GS.count(4068)).not.toBe("4068");  // the test runs in English: 4,068
    expect(GS.count(0)).toBe("0");
  });

  it("writes the decimals asked for, and a dash for no number", () => {
    expect(GS.count(95.62, 1)).toBe((95.6).toLocaleString([], { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
    expect(GS.count(10, 1)).toBe((10).toLocaleString([], { minimumFractionDigits: 1 }));
    for (const nothing of [null, undefined, "", NaN, "many"]) expect(GS.count(nothing)).toBe("—");
  });
});

describe("GS.day", () => {
  it("writes a date as GS.when writes it, without the time", () => {
    const iso = "2026-11-09T15:04:00Z";
    expect(GS.when(iso).startsWith(GS.day(iso))).toBe(true);
    expect(GS.day(iso)).not.toContain(":");
    expect(GS.day(iso)).not.toContain("/");
  });

  it("writes the day in the zone given: a Monday 00:00 UTC stays Monday wherever the reader is", () => {
    expect(GS.day("2026-11-09T00:00:00Z", "UTC")).toBe(
      new Date(Date.UTC(2026, 10, 9, 12)).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" }));
    expect(GS.day(null)).toBe("—");
  });
});

describe("GS.recent", () => {
  it("writes a moment of today as its clock to the minute after 'today', an earlier one as GS.when does", () => {
    const now = new Date();
    now.setHours(12, 34, 56, 0);
    const today = GS.recent(now.toISOString());
    expect(today.startsWith("today ")).toBe(true);
    expect(today).toContain("34");
    expect(today).not.toMatch(SECONDS);
    const before = new Date(now.getTime() - 2 * 86400_000).toISOString();
    expect(GS.recent(before)).toBe(GS.when(before));
    expect(GS.recent(before)).not.toMatch(SECONDS);
    expect(GS.recent(null)).toBe("—");
  });
});
