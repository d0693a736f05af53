// The incidents page's detection settings (server/static/tuning.js): a backtest tried or cancelled while a
// reading of a run is on its way, the section shows the run as read last, whatever order the answers come in.
import { expect, it, vi } from "vitest";
import { open, settle, type Page } from "./harness";

const STORED = { alarm_budget_per_week: 1, min_requesters: 3, resolve_after_minutes: 120, enabled: true,
                 sensitivity: { spike: 1, new_topic: 1, drop: 1, sentiment: 1, concentration: 1 }, plan_sensitivity: {} };

function run(id: number, status: string): Record<string, unknown> {
  return { id, status, settings: {}, since: "2026-02-01T00:00:00Z", requested_by: null,
           created_at: "2026-03-02T10:00:00Z", started_at: status === "queued" ? null : "2026-03-02T10:00:01Z",
           finished_at: status === "cancelled" ? "2026-03-02T10:01:00Z" : null,
           progress: { events_done: 10, events_total: 100 }, error: null, result: null };
}

async function opened(last: Record<string, unknown>): Promise<Page> {
  const page = open("incidents", ["page.js", "tuning.js"]);
  page.one("GET /api/v1/settings/widget").answer({ friction: null });
  page.one("GET /api/v1/settings/detection").answer(STORED);
  page.one("GET /api/v1/backtests").answer({ backtests: [last] });
  await settle();
  return page;
}

const head = () => document.querySelector("#tuning-run .tuning-head strong")?.textContent;
const tryButton = () => document.getElementById("tune-try") as HTMLButtonElement;

it("shows the backtest just asked for when the last one's reading answers after it", async () => {
  const page = await opened(run(5, "cancelled"));
  const last = page.one("GET /api/v1/backtests/5");  // the last run, read as the section opens: still on its way
  document.getElementById("tuning-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  page.one("POST /api/v1/backtests").answer(run(6, "queued"));
  await settle();
  page.one("GET /api/v1/backtests/6").answer(run(6, "running"));
  await settle();
  expect([head(), tryButton().disabled]).toEqual(["Backtest #6: ", true]);
  last.answer(run(5, "cancelled"));
  await settle();
  expect([head(), tryButton().disabled]).toEqual(["Backtest #6: ", true]);
  expect(document.querySelector("#tuning-run .progress-line")).not.toBeNull();
  expect(page.timers.filter((t) => t.ms === 1000 && !t.cleared).length).toBe(1);  // one run followed
});

it("says a cancelled backtest is cancelled when a reading from before the cancel answers after it", async () => {
  const page = await opened(run(7, "running"));
  page.one("GET /api/v1/backtests/7").answer(run(7, "running"));
  await settle();
  page.timers.filter((t) => t.ms === 1000 && !t.cleared).forEach((t) => { t.cleared = true; t.fn(); });
  const before = page.one("GET /api/v1/backtests/7");  // the next reading, on its way as Cancel is pressed
  const cancel = Array.from(document.querySelectorAll<HTMLButtonElement>("#tuning-run button"))
    .find((b) => b.textContent === "Cancel")!;
  cancel.click();
  page.one("DELETE /api/v1/backtests/7").answer(run(7, "cancelled"));
  await settle();
  expect(document.getElementById("tuning-run")!.textContent).toContain("Cancelled at");
  before.answer(run(7, "running"));
  await settle();
  expect(document.getElementById("tuning-run")!.textContent).toContain("Cancelled at");
  page.one("GET /api/v1/backtests/7").answer(run(7, "cancelled"));  // read once more after the cancel
  await settle();
  expect(document.getElementById("tuning-run")!.textContent).toContain("Cancelled at");
  expect(tryButton().disabled).toBe(false);
});

it("says the time to go the server priced by kind of event, however fast the events go by", async () => {
  const T = Date.parse("2026-03-02T10:02:00Z");
  let now = T;
  vi.spyOn(Date, "now").mockImplementation(() => now);
  const running = (done: number, left: number | null) => ({
    ...run(9, "running"), started_at: "2026-03-02T10:00:00Z",
    progress: { events_done: done, events_total: 64_000, seconds_left: left } });
  const page = await opened(running(16_000, 300));
  page.one("GET /api/v1/backtests/9").answer(running(16_000, 300));
  await settle();
  const line = () => document.querySelector("#tuning-run .progress-line")?.textContent ?? "";
  expect(line()).toContain("(2 min so far, about 5 min to go)");
  const next = (at: number, done: number, left: number | null) => {
    now = T + at;
    page.timers.filter((t) => t.ms === 1000 && !t.cleared).forEach((t) => { t.cleared = true; t.fn(); });
    page.one("GET /api/v1/backtests/9").answer(running(done, left));
  };
  next(20_000, 36_000, 280);  // a run of in-app events: 1,000 a second, which would say 28 s to go
  await settle();
  expect(line()).toContain("(2 min so far, about 5 min to go)");
  next(80_000, 36_600, 230);  // a run of tickets: 10 a second, which would say 46 min to go
  await settle();
  expect(line()).toContain("(3 min so far, about 4 min to go)");
  next(85_000, 36_700, null);  // no guess (a kind of event not replayed yet): none said
  await settle();
  expect(line()).toContain("(3 min so far)");
});

// A finished 30-day backtest of a tenant whose first ticket came two weeks before it was asked for.
function done(data_since: string | undefined): Record<string, unknown> {
  const totals = (count: number, per_week: number) => ({ count, by_kind: { spike: count }, per_week });
  return { ...run(11, "done"), since: "2026-11-05T01:00:00Z", finished_at: "2026-12-05T01:02:00Z",
           result: { since: "2026-11-05T01:00:00Z", until: "2026-12-05T01:00:00Z", data_since, weeks: 2.14,
                     events: 900, tickets: 800, current: totals(2, 0.93), proposed: totals(1, 0.47), added: 0,
                     removed: 1, ratings: { useful_kept: 0, useful_dropped: 0, noise_kept: 0, noise_dropped: 0 },
                     weekly: [{ week_start: "2026-11-16T00:00:00+00:00", current: 0, proposed: 0 },
                              { week_start: "2026-11-23T00:00:00+00:00", current: 1, proposed: 0 },
                              { week_start: "2026-11-30T00:00:00+00:00", current: 1, proposed: 1 }],
                     incidents: [], incidents_total: 0 } };
}

const WHEN = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" } as const;
const at = (iso: string) => new Date(iso).toLocaleString([], WHEN);

it("says the data begins after the period asked for and counts the first week's bars from there", async () => {
  const page = await opened(done("2026-11-20T01:06:00+00:00"));
  page.one("GET /api/v1/backtests/11").answer(done("2026-11-20T01:06:00+00:00"));
  await settle();
  const summary = document.querySelector("#tuning-run .tuning-summary")!.textContent;
  expect(summary).toContain("From " + at("2026-11-05T01:00:00Z") + " (data only from " + at("2026-11-20T01:06:00Z") +
    "; the rates a week count from there): with the stored settings 2 incidents (Spike 2), 0.93 a week;");
  const first = document.querySelector("#tuning-run svg rect.bar.current title")!.textContent;
  expect(first).toContain(", counted from " + at("2026-11-20T01:06:00Z") + ": 0 with the stored settings");
  // Data from the period's start on, or a result stored before the server told where its data begins: as before.
  for (const data_since of ["2026-11-05T01:00:00+00:00", undefined]) {
    const again = await opened(done(data_since));
    again.one("GET /api/v1/backtests/11").answer(done(data_since));
    await settle();
    const said = document.querySelector("#tuning-run .tuning-summary")!.textContent;
    expect(said).toContain("From " + at("2026-11-05T01:00:00Z") + ": with the stored settings 2 incidents");
    expect(said).not.toContain("data only");
  }
});

it("gives no rate a week under a week of data, as the server gives none", async () => {
  const short = done("2026-12-01T01:00:00+00:00");
  const result = short.result as Record<string, Record<string, unknown> | unknown>;
  result.weeks = 0.57;
  (result.current as Record<string, unknown>).per_week = null;
  (result.proposed as Record<string, unknown>).per_week = null;
  const page = await opened(short);
  page.one("GET /api/v1/backtests/11").answer(short);
  await settle();
  const summary = document.querySelector("#tuning-run .tuning-summary")!.textContent!;
  expect(summary).toContain("(data only from " + at("2026-12-01T01:00:00Z") + "), under a week of data, too little " +
    "for a rate a week: with the stored settings 2 incidents (Spike 2); with these 1 incident (Spike 1). Against");
  expect(summary).not.toContain("a week;");
});

it("shows the clocks of a backtest incident's sentence in the reader's zone, as the table's other times", async () => {
  const run = done("2026-11-05T01:00:00+00:00");
  const result = run.result as Record<string, unknown>;
  result.incidents = [{ kind: "spike", series: "all", title: "Spike in all tickets",
                        sentence: "24 tickets in 60 min on all tickets; since 19:30 UTC.",
                        first_seen_at: "2026-12-03T19:30:00+00:00", detected_at: "2026-12-03T19:41:00+00:00",
                        ticket_count: 24, requester_count: 20, p_value: 1e-6, in: "proposed_only", actual: null }];
  result.incidents_total = 1;
  const page = await opened(run);
  page.one("GET /api/v1/backtests/11").answer(run);
  await settle();
  const said = document.querySelector("#tuning-run table.tuning-table td .hint")!.textContent;
  const GS = (window as unknown as { GS: { clock: (t: number) => string } }).GS;
  expect(said).toBe("24 tickets in 60 min on all tickets; since " + GS.clock(Date.parse("2026-12-03T19:30:00Z")) + ".");
  expect(said).not.toContain("UTC");
});
