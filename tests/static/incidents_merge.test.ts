// Merging and undoing a merge on the incidents page (server/static/incidents.js): the API records the change at
// once and the detector moves the tickets a few seconds later, so the page says they are moving, reads the two
// incidents again every second until an answer shows the move, and only then says it is done; past its bound it
// says the detector has not moved them yet. Meanwhile the one just separated is not said to share tickets.
import { expect, it } from "vitest";
import { open, settle, type Page } from "./harness";

type Incident = Record<string, unknown>;

function incident(id: number, fields: Incident = {}): Incident {
  return {
    id, kind: "spike", status: "open", status_by: "detector", status_changed_at: "2026-03-02T10:00:00Z",
    title: "Spike " + id, sentence: "More tickets than usual.", series: "topic:" + id,
    first_seen_at: "2026-03-02T09:00:00Z", detected_at: "2026-03-02T09:30:00Z",
    last_activity_at: "2026-03-02T10:30:00Z", ticket_count: 2, requester_count: 2, account_count: 1,
    ticket_ids: ["20", "21"], evidence: {}, feedback: [], useful_count: 0, noise_count: 0, volume: [], related: [],
    history: [], ...fields,
  };
}

// #4 (tickets 40, 41) merged into #2 (tickets 20, 21), as the API answers before the detector has read it, and after.
const MERGED_AT = "2026-03-02T11:00:00.123456Z";
const four = (fields: Incident = {}) => incident(4, { ticket_ids: ["40", "41"], ...fields });
const keptBefore = (fields: Incident = {}) => incident(2, { evidence: { merged_incidents: [4] }, ...fields });
const keptAfter = (fields: Incident = {}) => keptBefore({
  ticket_ids: ["20", "21", "40", "41"], ticket_count: 4, requester_count: 3, last_activity_at: MERGED_AT, ...fields });

const said = () => document.getElementById("incident-news")!.textContent;
const shown = () => document.querySelector("#incident-detail .detail-done")!.textContent;
const detailText = () => document.getElementById("incident-detail")!.textContent!;

/** Fires the page's pending timer of `ms` (the follow-up reading: 1 s; the refresh: 15 s). */
function fire(page: Page, ms: number): void {
  const t = page.timers.filter((x) => x.ms === ms && !x.cleared).pop();
  if (!t) throw new Error("no timer of " + ms + " ms");
  t.cleared = true;
  t.fn();
}

/** The page open on incident `id`, its candidates to merge into (if it has the picker) answered, "Dana" named. */
async function opened(id: number, answer: Incident, candidates: Incident[]): Promise<Page> {
  history.replaceState(null, "", location.pathname);
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  (document.getElementById("by") as HTMLInputElement).value = "Dana";
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(2), four()], total: 2 });
  await settle();
  (document.querySelector(`.incident-item[data-id="${id}"]`) as HTMLButtonElement).click();
  page.one("GET /api/v1/incidents/" + id).answer(answer);
  await settle();
  page.pending("GET /api/v1/incidents?status=open,acknowledged")  // none for a merged one: it has no picker
    .forEach((r) => r.answer({ incidents: candidates, total: candidates.length }));
  await settle();
  return page;
}

/** #4 merged into #2, the detector not having moved the tickets yet (#2 answers as `kept`). */
async function mergeFourIntoTwo(kept: Incident = keptBefore()): Promise<Page> {
  const page = await opened(4, four(), [incident(2), four()]);
  const into = document.getElementById("merge-into") as HTMLSelectElement;
  into.value = "2";
  into.dispatchEvent(new Event("change"));
  const button = () => document.querySelector('#incident-detail [data-action="merge"]') as HTMLButtonElement;
  button().click();
  button().click();
  page.one("POST /api/v1/incidents/4/merge").answer(kept);
  await settle();
  page.one("GET /api/v1/incidents/2").answer(kept);
  page.pending("GET /api/v1/incidents?").forEach((r) => r.answer({ incidents: [incident(2)], total: 1 }));
  await settle();
  return page;
}

const MOVING = "Merged #4 into #2 by Dana; its tickets are moving to #2, the counts update in a few seconds.";

it("says the merged incident's tickets are moving until the detector has moved them, then that they have", async () => {
  const page = await mergeFourIntoTwo();
  expect(said()).toBe(MOVING);
  expect(shown()).toBe(MOVING);
  expect(detailText()).toContain("Tickets (2)");

  fire(page, 1000);  // read again a second later: the detector has not read the merge yet
  page.one("GET /api/v1/incidents/2").answer(keptBefore());
  await settle();
  expect(said()).toBe(MOVING);

  fire(page, 1000);  // and again: now it has
  page.one("GET /api/v1/incidents/2").answer(keptAfter());
  await settle();
  const done = "Merged #4 into #2 by Dana: its tickets have joined this one, now 4 tickets from 3 customers.";
  expect(said()).toBe(done);
  expect(shown()).toBe(done);
  expect(detailText()).toContain("Tickets (4)");
  expect(page.pending("GET /api/v1/incidents?limit=100")).toHaveLength(1);  // the list's counts read again too
  expect(page.timers.filter((t) => t.ms === 1000 && !t.cleared)).toHaveLength(0);  // no more reading
});

it("says plainly when the detector has not moved the tickets after twenty seconds, and the move when it comes",
  async () => {
    const page = await mergeFourIntoTwo();
    for (let i = 0; i < 20; i++) {
      expect(said()).toBe(MOVING);
      fire(page, 1000);
      page.one("GET /api/v1/incidents/2").answer(keptBefore());
      await settle();
    }
    const late = "Merged #4 into #2 by Dana, but the detector has not moved its tickets yet: the counts here leave " +
      "them out until it does.";
    expect(said()).toBe(late);
    expect(shown()).toBe(late);
    expect(page.timers.filter((t) => t.ms === 1000 && !t.cleared)).toHaveLength(0);  // the bound: no more each second
    const slower = page.timers.filter((t) => t.ms === 15000 && !t.cleared);
    slower[slower.length - 1].cleared = true;
    slower[slower.length - 1].fn();  // still looked at, at the page's refresh pace
    page.one("GET /api/v1/incidents/2").answer(keptAfter());
    await settle();
    expect(said()).toBe("Merged #4 into #2 by Dana: its tickets have joined this one, now 4 tickets from 3 customers.");
  });

it("stops following a merge the detector never carries out after about five minutes, and says what it holds",
  async () => {
    // #2 still shares #4's two tickets, as the detector left them (it found nothing to move)
    const related = [{ id: 4, kind: "spike", status: "resolved", title: "Spike 4", pages: [], shared_tickets: 2 }];
    const page = await mergeFourIntoTwo(keptBefore({ related }));
    expect(document.querySelector("#incident-detail ul.related")).toBeNull();  // the tickets "on their way"
    for (let i = 0; i < 40; i++) {
      const ms = i < 20 ? 1000 : 15000;
      fire(page, ms);
      page.pending("GET /api/v1/incidents/2").forEach((r) => r.answer(keptBefore({ related })));
      page.pending("GET /api/v1/incidents?").forEach((r) => r.answer({ incidents: [incident(2)], total: 1 }));
      await settle();
    }
    expect(page.pending("GET /api/v1/incidents/2")).toHaveLength(0);
    // no longer followed: the tickets the two share are said again
    expect(document.querySelector("#incident-detail ul.related")!.textContent).toContain("2 tickets in common");
  });

it("an undone merge: the one separated is not said to share tickets until they have moved back", async () => {
  // #2 as the detector left it after the merge: it holds #4's tickets; #4 back is related by them alone.
  const page = await opened(2, keptAfter(), [keptAfter(), four()]);
  const undo = document.querySelector('#incident-detail [data-action="unmerge-4"]') as HTMLButtonElement;
  undo.click();
  const undoneAt = "2026-03-02T11:05:00.654321Z";
  page.one("POST /api/v1/incidents/4/unmerge").answer(four({ status_by: "Dana", status_changed_at: undoneAt }));
  await settle();
  const related = [{ id: 4, kind: "spike", status: "open", title: "Spike 4", pages: [], shared_tickets: 2 }];
  const pending = keptAfter({ evidence: {}, related });
  page.one("GET /api/v1/incidents/2").answer(pending);
  await settle();
  page.pending("GET /api/v1/incidents?status=open,acknowledged")
    .forEach((r) => r.answer({ incidents: [pending, four()], total: 2 }));
  await settle();
  const moving = "Merge undone by Dana: #4 is open again, apart from #2; its tickets are moving back to #4, the " +
    "counts update in a few seconds.";
  expect(said()).toBe(moving);
  expect(detailText()).not.toContain("in common");
  expect(document.querySelector("#incident-detail ul.related")).toBeNull();
  expect(Array.from(document.querySelectorAll("#merge-into option")).map((o) => o.textContent))
    .toContain("#4 Spike 4");

  fire(page, 1000);  // both read again: the detector has not read the undo yet
  page.one("GET /api/v1/incidents/2").answer(pending);
  page.one("GET /api/v1/incidents/4").answer(four({ status_by: "Dana", status_changed_at: undoneAt }));
  await settle();
  expect(said()).toBe(moving);
  expect(detailText()).not.toContain("in common");

  fire(page, 1000);  // now it has: #4 written by it at the undo's time, #2 without #4's tickets
  page.one("GET /api/v1/incidents/2").answer(incident(2));
  page.one("GET /api/v1/incidents/4").answer(four({ status_by: "Dana", status_changed_at: undoneAt,
                                                   last_activity_at: undoneAt }));
  await settle();
  expect(said()).toBe("Merge undone by Dana: #4 is open again, apart from #2, with its own tickets.");
  expect(detailText()).toContain("Tickets (2)");
  expect(detailText()).not.toContain("Merged into this one");
});

it("a follow-up reading overtaken by a newer drawing of the incident gives way to it", async () => {
  const page = await mergeFourIntoTwo();
  fire(page, 1000);
  const late = page.one("GET /api/v1/incidents/2");  // the follow-up reading, on its way
  fire(page, 15000);  // the page's refresh reads it too, and answers first: moved, and acknowledged by Lee since
  const refreshed = page.pending("GET /api/v1/incidents/2").filter((r) => r !== late);
  expect(refreshed).toHaveLength(1);
  refreshed[0].answer(keptAfter({ status: "acknowledged", status_by: "Lee" }));
  page.pending("GET /api/v1/incidents?").forEach((r) => r.answer({ incidents: [incident(2)], total: 1 }));
  await settle();
  late.answer(keptAfter());  // read before the acknowledgement
  await settle();
  expect(document.querySelector("#incident-detail .detail-head .status")!.textContent).toBe("acknowledged");
  expect(said()).toBe("Merged #4 into #2 by Dana: its tickets have joined this one, now 4 tickets from 3 customers.");
});

it("undone from the merged incident: its tickets are said to be moving back until the other no longer holds them",
  async () => {
    const merged = four({ status: "resolved", status_by: "Dana", evidence: { merged_into_incident: 2 } });
    const page = await opened(4, merged, []);
    (document.querySelector('#incident-detail [data-action="unmerge"]') as HTMLButtonElement).click();
    const back = four({ status_by: "Dana", status_changed_at: "2026-03-02T11:05:00Z" });
    page.one("POST /api/v1/incidents/4/unmerge").answer(back);
    await settle();
    const head = "Merge undone by Dana: incident #4 is open again";
    expect(said()).toBe(head + "; its tickets are moving back from #2, the counts update in a few seconds.");

    fire(page, 1000);
    page.one("GET /api/v1/incidents/2").answer(incident(2));  // the detector has taken #4's tickets back from #2
    page.one("GET /api/v1/incidents/4").answer(back);
    await settle();
    expect(said()).toBe(head + " and has its tickets back from #2.");
  });
