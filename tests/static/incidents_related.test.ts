// The incidents page's "Related incidents" (server/static/incidents.js): each says why it is the same problem,
// the pages both name and the tickets both hold.
import { expect, it } from "vitest";
import { open, settle } from "./harness";

function incident(id: number, related: unknown[]): Record<string, unknown> {
  return {
    id, kind: "concentration", status: "open", status_by: "detector", status_changed_at: "2026-03-02T10:00:00Z",
    title: "Concentrated rise " + id, sentence: "More tickets than usual.", series: "all",
    first_seen_at: "2026-03-02T09:00:00Z", detected_at: "2026-03-02T09:30:00Z",
    ticket_count: 3, requester_count: 3, account_count: 1, ticket_ids: [], evidence: {}, feedback: [],
    useful_count: 0, noise_count: 0, volume: [], related,
  };
}

it("says why each related incident is the same problem", async () => {
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1, [])], total: 1 });
  await settle();
  (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
  page.one("GET /api/v1/incidents/1").answer(incident(1, [
    { id: 2, kind: "sentiment", status: "open", title: "Sentiment falling: Kestrel", pages: [], shared_tickets: 3 },
    { id: 3, kind: "friction", status: "acknowledged", title: "Failed requests on /invoices", pages: ["/invoices"],
      shared_tickets: 0 },
    { id: 4, kind: "spike", status: "open", title: "Spike", pages: ["/billing"], shared_tickets: 1 },
  ]));
  await settle();
  const lines = Array.from(document.querySelectorAll("#incident-detail ul.related li")).map((li) => li.textContent);
  expect(lines).toEqual([
    "Sentiment#2 Sentiment falling: Kestrel · open · 3 tickets in common",
    "In-app friction#3 Failed requests on /invoices · acknowledged · /invoices",
    "Spike#4 Spike · open · /billing, 1 ticket in common",
  ]);
});

it("offers the likeliest incidents to merge into first: the related ones, then those first seen nearest", async () => {
  history.replaceState(null, "", location.pathname);  // no incident named in the address (an earlier test's)
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1, [])], total: 1 });
  await settle();
  (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
  page.one("GET /api/v1/incidents/1").answer(incident(1, [
    { id: 5, kind: "spike", status: "open", title: "Spike 5", pages: ["/billing"], shared_tickets: 0 },
    { id: 6, kind: "spike", status: "open", title: "Spike 6", pages: [], shared_tickets: 4 },
    { id: 3, kind: "friction", status: "open", title: "Failed requests on /billing", pages: ["/billing"], shared_tickets: 0 },
  ]));
  await settle();
  const at = (id: number, first: string) => ({ ...incident(id, []), kind: "spike", title: "Spike " + id, first_seen_at: first });
  page.one("GET /api/v1/incidents?status=open,acknowledged").answer({ incidents: [
    at(2, "2026-03-01T09:00:00Z"), at(4, "2026-03-02T08:00:00Z"), at(5, "2026-03-02T01:00:00Z"),
    at(6, "2026-02-28T09:00:00Z"), at(7, "2026-03-02T11:30:00Z"),
    { ...incident(3, []), kind: "friction", title: "Failed requests on /billing" },  // another family: not offered
  ], total: 6 });
  await settle();
  const groups = Array.from(document.querySelectorAll("#merge-into optgroup")).map((g) => [
    (g as HTMLOptGroupElement).label, Array.from(g.querySelectorAll("option")).map((o) => o.textContent)]);
  expect(groups).toEqual([
    ["Related to this one", ["#6 Spike 6 (4 tickets in common)", "#5 Spike 5"]],
    ["Other active incidents, first seen nearest in time first", ["#4 Spike 4", "#7 Spike 7", "#2 Spike 2"]],
  ]);
});

it("lists the merge candidates by time alone, without groups, when none is related", async () => {
  history.replaceState(null, "", location.pathname);  // no incident named in the address (an earlier test's)
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1, [])], total: 1 });
  await settle();
  (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
  page.one("GET /api/v1/incidents/1").answer(incident(1, []));
  await settle();
  const at = (id: number, first: string) => ({ ...incident(id, []), title: "Rise " + id, first_seen_at: first });
  page.one("GET /api/v1/incidents?status=open,acknowledged").answer({ incidents: [
    at(2, "2026-03-01T09:00:00Z"), at(4, "2026-03-02T09:20:00Z")], total: 2 });
  await settle();
  expect(document.querySelectorAll("#merge-into optgroup")).toHaveLength(0);
  expect(Array.from(document.querySelectorAll("#merge-into option")).map((o) => o.textContent))
    .toEqual(["another active incident…", "#4 Rise 4", "#2 Rise 2"]);
});
