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
  const page = open("incidents", ["page.js", "incidents.js"]);
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
