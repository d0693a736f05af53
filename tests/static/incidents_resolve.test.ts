// The incidents page's Resolve (server/static/incidents.js): said first when the incident's last hours are still
// above their usual range (the detector would reopen it), straight away when they are back within it.
import { expect, it } from "vitest";
import { open, settle } from "./harness";

function hour(start: string, requesters: number, partial = false): Record<string, unknown> {
  return { start, tickets: requesters, requesters, expected: 1, lower: 0, upper: 3, partial,
           as_of: partial ? "2026-03-02T10:20:00Z" : null };
}

function incident(volume: unknown[]): Record<string, unknown> {
  return {
    id: 1, kind: "spike", status: "acknowledged", status_by: "Ana", status_changed_at: "2026-03-02T10:00:00Z",
    title: "Spike", sentence: "More tickets than usual.", series: "topic:4", topic: { id: 4, label: "invoice pdf" },
    first_seen_at: "2026-03-02T09:00:00Z", detected_at: "2026-03-02T09:30:00Z",
    ticket_count: 3, requester_count: 3, account_count: 1, ticket_ids: [], evidence: {}, feedback: [],
    useful_count: 0, noise_count: 0, volume, related: [],
  };
}

async function resolveClicked(volume: unknown[]) {
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(volume)], total: 1 });
  await settle();
  (document.getElementById("by") as HTMLInputElement).value = "Ana";
  (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
  page.pending("GET /api/v1/incidents/1").forEach((r) => r.answer(incident(volume)));
  await settle();
  const button = () => document.querySelector('#incident-detail [data-action="status-resolved"]') as HTMLButtonElement;
  button().click();
  await settle();
  return { page, button };
}

it("asks again while the hour so far is above its usual range, saying why once, then resolves", async () => {
  const { page, button } = await resolveClicked([hour("2026-03-02T09:00:00Z", 2), hour("2026-03-02T10:00:00Z", 7, true)]);
  expect(page.pending("PATCH /api/v1/incidents/1/status")).toEqual([]);
  const why = "Still above its usual range (7 customers this hour so far): it reopens if this goes on.";
  expect(button().textContent).toBe("Resolve anyway");
  expect(document.querySelector("#incident-detail .detail-done")!.textContent).toBe(why);
  expect(document.getElementById("incident-news")!.textContent).toBe(why);  // the status line, read out once
  expect(document.getElementById("incident-detail")!.textContent!.split("Still above").length - 1).toBe(1);
  button().click();
  expect(page.one("PATCH /api/v1/incidents/1/status").body).toEqual({ status: "resolved", by: "Ana" });
});

it("resolves at once when its last hours are back within their range", async () => {
  const { page } = await resolveClicked([hour("2026-03-02T08:00:00Z", 9), hour("2026-03-02T09:00:00Z", 2),
                                         hour("2026-03-02T10:00:00Z", 1, true)]);
  expect(page.one("PATCH /api/v1/incidents/1/status").body).toEqual({ status: "resolved", by: "Ana" });
});

it("says who resolved it in a few words, and the status only when it is not the one asked for", async () => {
  const back = [hour("2026-03-02T09:00:00Z", 2), hour("2026-03-02T10:00:00Z", 1, true)];
  const done = () => document.querySelector("#incident-detail .detail-done")!.textContent;
  let { page } = await resolveClicked(back);
  page.one("PATCH /api/v1/incidents/1/status").answer({ ...incident(back), status: "resolved", status_by: "Ana" });
  await settle();
  expect(done()).toBe("Resolved by Ana.");
  ({ page } = await resolveClicked(back));  // reopened by the detector before the answer was read
  page.one("PATCH /api/v1/incidents/1/status").answer({ ...incident(back), status: "open", status_by: "Ana" });
  await settle();
  expect(done()).toBe("Resolved by Ana: incident #1 is open.");
});
