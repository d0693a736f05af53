// The incidents page's report section (server/static/report.js): when the period is picked twice in a row and
// the first answer arrives last, the chart keeps the period picked last.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it, vi } from "vitest";

const STATIC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "server", "static");

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

const pending: { weeks: number; resolve: (body: unknown) => void }[] = [];

function open(): void {  // spies inside the test: the config restores mocks before each one
  document.body.innerHTML = `
    <section id="report" hidden>
      <select id="report-weeks"><option value="4" selected>4</option><option value="52">52</option></select>
      <div id="report-body"></div>
    </section>`;
  sessionStorage.setItem("groundswell.token", "gs_sk_test");
  vi.spyOn(globalThis, "fetch").mockImplementation((input) => {
    const url = new URL(String(input), "http://x");
    const days = (Date.parse(url.searchParams.get("until")!) - Date.parse(url.searchParams.get("since")!)) / 86400000;
    return new Promise((resolve) => {
      pending.push({ weeks: Math.ceil(days / 7),
                     resolve: (body) => resolve(new Response(JSON.stringify(body), { status: 200 })) });
    });
  });
  vi.spyOn(window, "setInterval").mockImplementation(() => 0 as unknown as ReturnType<typeof setInterval>);
  for (const name of ["page.js", "report.js"]) new Function(readFileSync(join(STATIC, name), "utf8"))();
  document.dispatchEvent(new Event("DOMContentLoaded"));
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
}

it("draws the period picked last when an earlier answer arrives after it", async () => {
  open();
  expect(pending.map((p) => p.weeks)).toEqual([4]);  // the page's first load
  const pick = document.getElementById("report-weeks") as HTMLSelectElement;
  pick.value = "52";
  pick.dispatchEvent(new Event("change"));
  pick.value = "4";
  pick.dispatchEvent(new Event("change"));
  expect(pending.map((p) => p.weeks)).toEqual([4, 52, 4]);
  const bars = () => document.querySelectorAll("#report-body svg.report-chart rect.bar").length;

  pending[2].resolve(report(4));  // the last pick answers first
  await settle();
  expect(bars()).toBe(4);
  expect(document.getElementById("report")!.hidden).toBe(false);
  pending[0].resolve(report(4));  // the page's first load, then the 52 weeks' answer, both asked before it: dropped
  await settle();
  expect(bars()).toBe(4);
  pending[1].resolve(report(52));
  await settle();
  expect(bars()).toBe(4);

  pick.value = "52";
  pick.dispatchEvent(new Event("change"));
  pending[3].resolve(report(52));
  await settle();
  expect(bars()).toBe(52);
});

it("says the verdicts themselves, not a share, until five incidents are rated", async () => {
  open();
  const found = () => document.querySelector("#report-body .report-figures div dd")?.firstChild?.textContent;
  const answer = (useful: number, noise: number) => {
    const r = report(4);
    r.feedback = { precision: useful + noise ? useful / (useful + noise) : null, useful, noise, unrated: 1 };
    pending[pending.length - 1].resolve(r);
  };
  const pick = document.getElementById("report-weeks") as HTMLSelectElement;
  for (const [useful, noise, said] of [[0, 0, "—"], [1, 0, "1 of 1"], [3, 1, "3 of 4"], [4, 1, "80%"]] as const) {
    pick.dispatchEvent(new Event("change"));
    answer(useful, noise);
    await settle();
    expect(found()).toBe(said);
  }
});
