// Whether the detector is still reading a backlog (page.js GS.reading), which the dashboard's and the incidents
// page's empty incident lists both follow: "still reading" while a history import arrives in bursts, with the
// detector catching up between them, and never "nothing unusual" or "All quiet" while it is behind; the two
// pages say the same thing about the same status answer.
import { beforeEach, describe, expect, it } from "vitest";
import { open, settle } from "./harness";

interface Reading { pending: number; arrivedAt: string | null; bySource: Record<string, number> }
type Status = Record<string, unknown>;
const GS = () => (window as unknown as { GS: { reading(s: Status): Reading | null } }).GS;

const NOW = Date.now();
const MINUTE = 60_000;
const START = Math.floor(NOW / MINUTE) * MINUTE;  // the minute under way, as the server's series ends
const minute = (ago: number) => new Date(START - ago * MINUTE).toISOString();

/** A status answer: `pending` events waiting for the detector, the oldest for `lag` seconds, and one source whose
 *  last 60 minutes count `usual` events each but for those given ({minutes ago: count}). */
function status(pending: number, lag = 0, usual = 0, minutes: Record<number, number> = {}): Status {
  const series = Array.from({ length: 60 }, (_, i) => 59 - i)
    .map((ago) => ({ minute: minute(ago), count: ago in minutes ? minutes[ago] : usual }));
  return { tenant: { slug: "acme", name: "Acme" }, generated_at: new Date(NOW).toISOString(),
           sources: [{ source: "zendesk", total: 5000, kinds: {}, series,
                       events_per_minute: { last_1m: 0, last_5m: 0, last_60m: 0 } }],
           detector: { processed_offset: 1, head_offset: 1 + pending, pending_events: pending, lag_seconds: lag,
                       skipped_events: 0, last_skipped_at: null } };
}

beforeEach(() => { history.replaceState(null, "", location.pathname); });

describe("GS.reading", () => {
  beforeEach(() => { open("incidents", ["page.js"]); });

  it("is null for a detector that keeps up with live traffic, busy or quiet", () => {
    expect(GS().reading(status(0))).toBeNull();
    expect(GS().reading(status(4, 0.3, 12))).toBeNull();  // a handful on its way
    expect(GS().reading(status(100, 2, 40))).toBeNull();
    expect(GS().reading(status(30, 1, 800, { 0: 1500, 1: 1200 }))).toBeNull();  // a busy tenant's busy minutes
    expect(GS().reading(status(0, 0, 0, { 0: 900, 1: 700 }))).toBeNull();  // a live stream's hundreds a minute
  });

  it("holds while events wait, or have waited over a minute", () => {
    expect(GS().reading(status(101))).toEqual({ pending: 101, arrivedAt: null, bySource: {} });
    expect(GS().reading(status(1986, 340))).toEqual({ pending: 1986, arrivedAt: null, bySource: {} });
    expect(GS().reading(status(5, 75, 3))).toEqual({ pending: 5, arrivedAt: null, bySource: {} });  // a detector that stopped
  });

  it("holds for five minutes after events arrived in bulk, though the detector has caught up meanwhile", () => {
    expect(GS().reading(status(0, 0, 0, { 0: 4000 }))).toEqual({ pending: 0, arrivedAt: minute(0), bySource: {} });
    expect(GS().reading(status(0, 0, 0, { 4: 9000, 3: 1200, 20: 9000 }))).toEqual({ pending: 0, arrivedAt: minute(3), bySource: {} });
    expect(GS().reading(status(40, 0, 30, { 2: 1000 }))).toEqual({ pending: 40, arrivedAt: minute(2), bySource: {} });
    expect(GS().reading(status(0, 0, 0, { 5: 9000, 6: 9000 }))).toBeNull();  // stopped arriving 5 minutes ago
    expect(GS().reading(status(0, 0, 150, { 0: 1400 }))).toBeNull();  // under ten times the tenant's usual
  });
});

/** What the dashboard's and the incidents page's empty lists say about one status answer. */
async function bothSay(answer: Status): Promise<{ dashboard: string; incidents: string; left: string }> {
  const dash = open("dashboard", ["page.js", "dashboard.js"]);
  dash.one("GET /api/v1/incidents").answer({ incidents: [], total: 0 });
  dash.one("GET /api/v1/status").answer(answer);
  await settle();
  const dashboard = document.getElementById("incidents-now-list")!.textContent!;
  const inc = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  inc.one("GET /api/v1/incidents?limit=100").answer({ incidents: [], total: 0, limit: 100, offset: 0 });
  await settle();
  inc.one("GET /api/v1/status").answer(answer);
  await settle();
  const backlog = document.getElementById("list-backlog")!;
  return { dashboard, incidents: document.getElementById("list-state")!.textContent!,
           left: backlog.hidden ? "" : backlog.textContent! };
}

const at = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

it("both pages say the history is still being read while it arrives in bursts, and all quiet once it has stopped",
  async () => {
    const STILL = "No active incidents yet: the detector is still reading history.";
    // A history import: pages of events, the detector behind, then caught up between them, then done.
    const moments: [Status, string, string][] = [
      [status(2400, 40), "the detector is still reading the history (2,400 events to go)",
       "2,400 events to go; incidents appear a few minutes after it catches up."],
      [status(0, 0, 0, { 0: 3400 }), "the ticket history is still arriving (the latest at " + at(minute(0)) + ")",
       "History is still arriving (the latest at " + at(minute(0)) + "); incidents appear a few minutes after " +
       "the detector has read it all."],
      [status(60, 0, 0, { 1: 3400, 0: 1000 }), "the detector is still reading the history (60 events to go)",
       "60 events to go; incidents appear a few minutes after it catches up."],
      [status(0, 0, 0, { 4: 3400, 3: 2000 }), "the ticket history is still arriving (the latest at " + at(minute(3)) + ")",
       "History is still arriving (the latest at " + at(minute(3)) + "); incidents appear a few minutes after " +
       "the detector has read it all."],
    ];
    for (const [answer, dashboard, left] of moments) {
      const said = await bothSay(answer);
      expect(said.dashboard).toMatch(/^None yet: /);
      expect(said.dashboard).toContain(dashboard);
      expect(said.incidents).toBe(STILL);
      expect(said.left).toBe(left);
    }
    expect(await bothSay(status(0, 0, 0, { 6: 3400, 5: 2000 }))).toEqual(
      { dashboard: "None: nothing unusual right now.", incidents: "No active incidents. All quiet.", left: "" });
  });

it("the dashboard names the history as tickets and in-app events when the tenant has both, not as tickets alone",
  async () => {
    // The demo's first minutes: its tickets read, its widget history still waiting for the detector.
    const widget = { source: "widget", total: 31955, kinds: {}, series: [],
                     events_per_minute: { last_1m: 0, last_5m: 0, last_60m: 0 } };
    const answer = status(924, 30);
    answer.sources = [...(answer.sources as unknown[]), widget];
    const said = await bothSay(answer);
    expect(said.dashboard).toBe("None yet: the detector is still reading the history of tickets and in-app events " +
      "(924 events to go). Incidents appear here a few minutes after it has caught up.");
    expect(said.incidents).toBe("No active incidents yet: the detector is still reading history.");
    expect(said.left).toBe("924 events to go; incidents appear a few minutes after it catches up.");
    // Without the sources of the events left, and with one source known, neither is named alone.
    expect((await bothSay(status(924, 30))).dashboard)
      .toMatch(/^None yet: the detector is still reading the history \(/);
  });

it("both pages say where the events still to read come from, and name the history by them", async () => {
  const answer = status(2684, 30);
  (answer.detector as Record<string, unknown>).pending_by_source = { zendesk: 2100, widget: 584 };
  const said = await bothSay(answer);
  expect(said.dashboard).toBe("None yet: the detector is still reading the history (2,684 events to go: 2,100 from " +
    "Zendesk and 584 from the widget). Incidents appear here a few minutes after it has caught up.");
  expect(said.left).toBe("2,684 events to go: 2,100 from Zendesk and 584 from the widget; incidents appear a few " +
    "minutes after it catches up.");
  // Only in-app events left (the demo's session history after its tickets): that history, and no split.
  (answer.detector as Record<string, unknown>).pending_by_source = { widget: 2684 };
  const inApp = await bothSay(answer);
  expect(inApp.dashboard).toBe("None yet: the detector is still reading the in-app history (2,684 events to go). " +
    "Incidents appear here a few minutes after it has caught up.");
  expect(inApp.left).toBe("2,684 events to go; incidents appear a few minutes after it catches up.");
});

it("the incidents page does not say \"All quiet\" when it could not read how far the detector is", async () => {
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [], total: 0, limit: 100, offset: 0 });
  await settle();
  page.one("GET /api/v1/status").answer({ error: { message: "Internal error." } }, 500);
  await settle();
  expect(document.getElementById("list-state")!.textContent).toBe("No active incidents.");
});

it("the dashboard says neither until it has read how far the detector is", async () => {
  const page = open("dashboard", ["page.js", "dashboard.js"]);
  page.one("GET /api/v1/incidents").answer({ incidents: [], total: 0 });
  await settle();
  expect(document.getElementById("incidents-now-list")!.textContent).toBe("None.");
  page.one("GET /api/v1/status").answer(status(1986, 340));
  await settle();
  expect(document.getElementById("incidents-now-list")!.textContent).toMatch(/^None yet: the detector is still reading/);
});

it("a burst of widget events is live traffic, not history arriving", async () => {
  const { readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  new Function(readFileSync(join(__dirname, "..", "..", "server", "static", "page.js"), "utf8"))();
  const GS = (window as unknown as { GS: { reading: (s: unknown) => unknown } }).GS;
  const minute = (i: number) => new Date(Date.UTC(2026, 2, 2, 10, i)).toISOString();
  const series = Array.from({ length: 60 }, (_, i) => ({ minute: minute(i), count: i === 58 ? 5000 : 20 }));
  const status = (source: string) => ({ detector: { pending_events: 3, lag_seconds: 0.5 },
                                        sources: [{ source, total: 6000, kinds: {}, series }] });
  expect(GS.reading(status("widget"))).toBeNull();
  expect(GS.reading(status("zendesk"))).toEqual({ pending: 3, arrivedAt: minute(58), bySource: {} });
});

it("counts people's changes among the events to go in words that fit one or many", () => {
  open("incidents", ["page.js"]);
  const toGo = (window as unknown as { GS: { toGo(b: unknown): string } }).GS.toGo;
  expect(toGo({ pending: 3, bySource: { widget: 2, control: 1 } }))
    .toBe("3 events to go: 2 from the widget and 1 change made by a person");
  expect(toGo({ pending: 9, bySource: { zendesk: 4, widget: 3, control: 2 } }))
    .toBe("9 events to go: 4 from Zendesk, 3 from the widget and 2 changes made by people");
});
