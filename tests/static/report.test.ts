// The incidents page's report section (server/static/report.js): when the period is picked twice in a row and
// the first answer arrives last, the chart keeps the period picked last.
import { expect, it } from "vitest";
import { open, settle, type Page, type Request } from "./harness";

interface Week { start: string; incidents: number; useful: number; noise: number }

function report(weeks: number): Record<string, unknown> {
  const list: Week[] = Array.from({ length: weeks }, (_, i) => ({
    start: new Date(Date.UTC(2026, 0, 5 + 7 * i)).toISOString(), incidents: 1, useful: 0, noise: 0 }));
  return {
    incidents: weeks, by_kind: { spike: weeks }, by_status: { open: weeks }, merged: 0,
    feedback: { precision: null, useful: 0, noise: 0, unrated: weeks },
    time_to_respond: { count: 0, median_minutes: null, p90_minutes: null },
    time_to_resolve: { count: 0, median_minutes: null, p90_minutes: null },
    top_series: [], weeks: list, since: list[0].start, until: new Date(Date.UTC(2026, 11, 31)).toISOString(),
  };
}

// The incidents page with its report script, every request held (harness.ts); each request's period in weeks.
function opened(): { page: Page; weeks: () => number[]; asked: (i: number) => Request } {
  const page = open("incidents", ["page.js", "report.js"]);
  const reports = () => page.requests.filter((r) => r.path.startsWith("/api/v1/incidents/report?"));
  const weeks = () => reports().map((r) => {
    const q = new URL(r.path, "http://x").searchParams;
    return Math.ceil((Date.parse(q.get("until")!) - Date.parse(q.get("since")!)) / 86400000 / 7);
  });
  return { page, weeks, asked: (i) => reports()[i] };
}

it("draws the period picked last when an earlier answer arrives after it", async () => {
  const { weeks, asked } = opened();
  expect(weeks()).toEqual([4]);  // the page's first load
  const pick = document.getElementById("report-weeks") as HTMLSelectElement;
  pick.value = "52";
  pick.dispatchEvent(new Event("change"));
  pick.value = "4";
  pick.dispatchEvent(new Event("change"));
  expect(weeks()).toEqual([4, 52, 4]);
  const bars = () => document.querySelectorAll("#report-body svg.report-chart rect.bar").length;

  asked(2).answer(report(4));  // the last pick answers first
  await settle();
  expect(bars()).toBe(4);
  expect(document.getElementById("report")!.hidden).toBe(false);
  asked(0).answer(report(4));  // the page's first load, then the 52 weeks' answer, both asked before it: dropped
  await settle();
  expect(bars()).toBe(4);
  asked(1).answer(report(52));
  await settle();
  expect(bars()).toBe(4);

  pick.value = "52";
  pick.dispatchEvent(new Event("change"));
  asked(3).answer(report(52));
  await settle();
  expect(bars()).toBe(52);
});

it("says the verdicts themselves, not a share, until five incidents are rated", async () => {
  const { weeks, asked } = opened();
  const found = () => document.querySelector("#report-body .report-figures div dd")?.firstChild?.textContent;
  const answer = (useful: number, noise: number) => {
    const r = report(4);
    r.feedback = { precision: useful + noise ? useful / (useful + noise) : null, useful, noise, unrated: 1 };
    asked(weeks().length - 1).answer(r);
  };
  const pick = document.getElementById("report-weeks") as HTMLSelectElement;
  for (const [useful, noise, said] of [[0, 0, "—"], [1, 0, "1 of 1"], [3, 1, "3 of 4"], [4, 1, "80%"]] as const) {
    pick.dispatchEvent(new Event("change"));
    answer(useful, noise);
    await settle();
    expect(found()).toBe(said);
  }
});
