// The incidents page's open incident (server/static/incidents.js): picked again while an earlier reading of it
// is still on its way, the page keeps the answer to the latest pick, whatever order the answers come in.
import { expect, it } from "vitest";
import { open, settle } from "./harness";

function incident(id: number, status: string): Record<string, unknown> {
  return {
    id, kind: "spike", status, status_by: "detector", status_changed_at: "2026-03-02T10:00:00Z",
    title: "Invoices blank " + id, sentence: "More tickets than usual.", series: "all",
    first_seen_at: "2026-03-02T09:00:00Z", detected_at: "2026-03-02T09:30:00Z",
    ticket_count: 3, requester_count: 3, account_count: 1, ticket_ids: [], evidence: {}, feedback: [],
    useful_count: 0, noise_count: 0, volume: [],
  };
}

it("shows the incident as the latest pick read it when earlier readings of it answer last", async () => {
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1, "open"), incident(2, "open")], total: 2 });
  await settle();
  const card = (id: number) => document.querySelector(`.incident-item[data-id="${id}"]`) as HTMLButtonElement;
  const status = () => document.querySelector("#incident-detail .detail-head .status")?.textContent;
  const heading = () => document.querySelector("#incident-detail h2")?.textContent;

  card(1).click();  // #1, #2, #1, #2, #1 picked in a row, each reading still on its way
  card(2).click();
  card(1).click();
  card(2).click();
  card(1).click();
  const ones = page.pending("GET /api/v1/incidents/1"), twos = page.pending("GET /api/v1/incidents/2");
  expect([ones.length, twos.length]).toEqual([3, 2]);

  ones[2].answer(incident(1, "acknowledged"));  // the latest pick answers first: someone acknowledged it meanwhile
  await settle();
  expect([heading(), status()]).toEqual(["Invoices blank 1 (#1)", "acknowledged"]);
  twos[0].answer(incident(2, "open"));  // another incident's answer: not the one picked
  ones[0].answer({ error: { message: "Try again later." } }, 503);  // the first pick's reading failed
  await settle();
  expect([heading(), status()]).toEqual(["Invoices blank 1 (#1)", "acknowledged"]);
  expect(document.querySelector("#incident-detail .detail-error[role=alert]")?.textContent).toBe("");
  ones[1].answer(incident(1, "open"));  // the second pick's, read before the acknowledgement
  await settle();
  expect([heading(), status()]).toEqual(["Invoices blank 1 (#1)", "acknowledged"]);
  expect(document.activeElement).toBe(document.getElementById("incident-detail"));
});

it("picked A, then B, then A again: the first reading of A, arriving after B was drawn, gives way to the third", async () => {
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  history.replaceState(null, "", location.pathname);  // no incident named in the address (an earlier test's)
  page.pending("GET /api/v1/incidents?").forEach((r) => r.answer({ incidents: [incident(1, "open"), incident(2, "open")],
                                                                   total: 2 }));
  page.pending("GET /api/v1/incidents/").forEach((r) => r.answer(incident(1, "open")));
  await settle();
  const card = (id: number) => document.querySelector(`.incident-item[data-id="${id}"]`) as HTMLButtonElement;
  const status = () => document.querySelector("#incident-detail .detail-head .status")?.textContent;
  const latest = (path: string) => page.pending(path).slice(-1)[0];
  card(1).click();
  const first = latest("GET /api/v1/incidents/1");
  card(2).click();
  latest("GET /api/v1/incidents/2").answer(incident(2, "open"));
  await settle();
  card(1).click();
  const third = latest("GET /api/v1/incidents/1");
  expect(third).not.toBe(first);
  first.answer(incident(1, "open"));  // read before someone acknowledged it, arriving after #2 was drawn
  await settle();
  third.answer(incident(1, "acknowledged"));
  await settle();
  expect(status()).toBe("acknowledged");
});
