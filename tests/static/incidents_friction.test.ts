// A friction incident's expectation on the incidents page (server/static/incidents.js, chart.js): judged per
// visitor, its expected count is what the hour's visitors usually bring. While that hour is open it is what its
// visitors so far bring and grows with them, so the evidence and the chart say "so far", never an hour's usual.
import { expect, it } from "vitest";
import { open, settle } from "./harness";

function hour(start: string, count: number, expected: number, partial = false): Record<string, unknown> {
  return { start, tickets: count, requesters: count, expected, lower: expected / 2, upper: expected * 1.5, partial,
           as_of: partial ? "2026-03-02T08:37:00Z" : null };
}

function friction(signal: Record<string, unknown>, volume: unknown[]): Record<string, unknown> {
  return {
    id: 1, kind: "friction", status: "open", status_by: "detector", status_changed_at: "2026-03-02T08:22:00Z",
    title: "Failed requests on /invoices", sentence: "87 failed requests.", series: "page:/invoices:failed_request",
    first_seen_at: "2026-03-02T08:10:00Z", detected_at: "2026-03-02T08:22:00Z", p_value: 1e-9, surprise: 9,
    ticket_count: 0, requester_count: 0, account_count: 0, ticket_ids: [], feedback: [], useful_count: 0,
    noise_count: 0, related: [], volume,
    evidence: { path: "/invoices", signal: "failed_request", observed: 87, expected: 10.4, sessions: 40, users: 0,
                signals: [{ signal: "failed_request", observed: 87, expected: 10.4, p: 1e-9, ...signal }],
                first_seen_at: "2026-03-02T08:10:00Z", window_start_at: "2026-03-02T08:00:00Z", window_minutes: 60 },
  };
}

const CLOSED = [hour("2026-03-02T05:00:00Z", 34, 33), hour("2026-03-02T06:00:00Z", 50, 38),
                hour("2026-03-02T07:00:00Z", 40, 35)];

async function detail(inc: Record<string, unknown>) {
  history.replaceState(null, "", location.pathname);
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [inc], total: 1 });
  await settle();
  (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
  page.pending("GET /api/v1/incidents/1").forEach((r) => r.answer(inc));
  await settle();
  const box = document.getElementById("incident-detail")!;
  const term = (name: string) => [...box.querySelectorAll("dl.evidence dt")].find((dt) => dt.textContent === name)
    ?.nextElementSibling?.textContent;
  return { box, term };
}

it("says the open hour's expectation is from its visitors so far, in the evidence and on the chart", async () => {
  const open = hour("2026-03-02T08:00:00Z", 87, 10.4, true);
  const { box, term } = await detail(friction({ visitors: 69 }, [...CLOSED, open]));
  expect(term("Expected")).toBe("10.4 failed requests from the hour's 69 visitors so far");
  expect(term("Observed")).toMatch(/^87 failed requests in the hour from \S+( [AP]M)? so far$/);
  expect(box.querySelector("dl.evidence ul")!.textContent)
    .toBe("failed request: 87 in its worst hour so far, 10.4 expected from its 69 visitors so far");
  // the whole hours' expected line stops at the last closed hour; the open hour's is a mark of its own, named
  const line = box.querySelector("svg.incident-chart polyline.expected")!;
  expect(line.getAttribute("points")!.split(" ")).toHaveLength(CLOSED.length);
  const mark = box.querySelector("svg.incident-chart line.expected.so-far")!;
  expect(mark.querySelector("title")!.textContent).toMatch(/^expected so far: 10\.4 failed requests from this hour's visitors until /);
  expect(box.querySelector("svg.incident-chart rect.bar.partial title")!.textContent)
    .toContain("expected 10.4 failed requests so far, from the hour's visitors until then");
  expect(box.querySelector("svg.incident-chart rect.bar.partial title")!.textContent).not.toContain("whole hour");
  expect(box.querySelector(".legend")!.textContent).toContain("expected so far, from this hour's visitors");
  expect(box.textContent).not.toMatch(/usually 10\.4|10\.4 failed requests in that hour/);
});

it("takes the evidence's word for whether its hour is open, and says a closed hour's figures as that hour's", async () => {
  const later = hour("2026-03-02T09:00:00Z", 5, 11, true);
  const closed = await detail(friction({ visitors: 69, so_far: false }, [...CLOSED, hour("2026-03-02T08:00:00Z", 87, 10.4),
                                                                          later]));
  expect(closed.term("Expected")).toBe("10.4 failed requests from that hour's 69 visitors");
  expect(closed.term("Observed")).toMatch(/^87 failed requests in the hour from \S+( [AP]M)?$/);
  expect(closed.box.querySelector("dl.evidence ul")!.textContent)
    .toBe("failed request: 87 in its worst hour, usually 10.4 from its 69 visitors");

  const still = await detail(friction({ visitors: 69, so_far: true }, CLOSED));
  expect(still.term("Expected")).toBe("10.4 failed requests from the hour's 69 visitors so far");
});

it("keeps a whole hour's expectation as such when the page is judged by its hourly counts (no visitors)", async () => {
  const open = hour("2026-03-02T08:00:00Z", 87, 35, true);
  const { box, term } = await detail(friction({ visitors: 0 }, [...CLOSED, open]));
  expect(term("Expected")).toBe("10.4 failed requests in that hour");
  expect(box.querySelector("svg.incident-chart line.expected.so-far")).toBeNull();
  expect(box.querySelector("svg.incident-chart polyline.expected")!.getAttribute("points")!.split(" "))
    .toHaveLength(CLOSED.length + 1);
  expect(box.querySelector("svg.incident-chart rect.bar.partial title")!.textContent).toContain("in the whole hour");
});

it("names the hour the counts are of when a later, worse hour replaced the opening one's", async () => {
  const inc = friction({ visitors: 40, so_far: false }, [...CLOSED, hour("2026-03-02T08:00:00Z", 87, 10.4)]);
  (inc.evidence as Record<string, unknown>).counts_hour_at = "2026-03-02T07:00:00Z";
  (inc.evidence as Record<string, unknown>).window_start_at = "2026-03-02T05:00:00Z";
  const { term } = await detail(inc);
  const clock = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  expect(term("Observed")).toBe("87 failed requests in the hour from " + clock("2026-03-02T07:00:00Z"));
});
