// The dashboard's topics and active incidents (server/static/dashboard.js): a topic picked, a name saved or a
// token given while an earlier answer is on its way, the page keeps the latest, whatever order answers come in.
import { expect, it } from "vitest";
import { open, settle, type Page } from "./harness";

function topic(id: number, label: string, name: string | null = null): Record<string, unknown> {
  return { id, label, name, display_name: name ?? label, size: 3, volume: [{ count: 1 }, { count: 2 }],
           last_seen_at: "2026-03-02T09:00:00Z", summary: label + " tickets", llm_summary: null,
           representatives: [{ ticket_id: 10 + id, text: "About " + label }] };
}

const heading = () => document.getElementById("topic-detail-heading")?.textContent;
const names = () => Array.from(document.querySelectorAll("#topics tbody td:first-child a:first-child"))
  .map((a) => a.textContent);
const link = (name: string) => Array.from(document.querySelectorAll<HTMLAnchorElement>("#topics tbody a"))
  .find((a) => a.textContent === name)!;

async function withTopics(): Promise<Page> {
  const page = open("dashboard", ["page.js", "dashboard.js"]);
  page.one("GET /api/v1/incidents").answer({ incidents: [], total: 0 });
  await settle();
  page.one("GET /api/v1/topics?").answer({ topics: [topic(1, "invoice pdf"), topic(2, "refund")] });
  await settle();
  expect(names()).toEqual(["invoice pdf", "refund"]);
  return page;
}

it("shows the topic picked last when an earlier pick's answer arrives after it", async () => {
  const page = await withTopics();
  link("invoice pdf").click();
  link("refund").click();
  page.one("GET /api/v1/topics/2").answer(topic(2, "refund"));
  await settle();
  expect(heading()).toBe("refund (topic 2)");
  page.one("GET /api/v1/topics/1").answer(topic(1, "invoice pdf"));
  await settle();
  expect(heading()).toBe("refund (topic 2)");

  // a name saved, and another topic picked before the server answered: the picked one stays
  (document.querySelector("#topic-detail input") as HTMLInputElement).value = "Refunds";
  document.querySelector("#topic-detail form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  link("invoice pdf").click();
  page.one("GET /api/v1/topics/1").answer(topic(1, "invoice pdf"));
  await settle();
  page.one("PATCH /api/v1/topics/2").answer(topic(2, "refund", "Refunds"));
  await settle();
  expect(page.pending("GET /api/v1/topics/2")).toEqual([]);
  expect(heading()).toBe("invoice pdf (topic 1)");
});

it("keeps a saved name in the table when the refresh under way answers after the save's", async () => {
  const page = await withTopics();
  const refreshes = () => page.timers.filter((t) => t.ms === 5000 && !t.cleared);
  expect(refreshes().length).toBe(1);
  refreshes()[0].fn();  // the table's refresh, still on its way when the name is saved
  refreshes()[0].cleared = true;
  link("refund").click();
  page.one("GET /api/v1/topics/2").answer(topic(2, "refund"));
  await settle();
  (document.querySelector("#topic-detail input") as HTMLInputElement).value = "Refunds";
  document.querySelector("#topic-detail form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  page.one("PATCH /api/v1/topics/2").answer(topic(2, "refund", "Refunds"));
  await settle();
  const [before, after] = page.pending("GET /api/v1/topics?");
  after.answer({ topics: [topic(1, "invoice pdf"), topic(2, "refund", "Refunds")] });
  await settle();
  expect(names()).toEqual(["invoice pdf", "Refunds"]);
  before.answer({ topics: [topic(1, "invoice pdf"), topic(2, "refund")] });  // read before the save
  await settle();
  expect(names()).toEqual(["invoice pdf", "Refunds"]);
  expect(refreshes().length).toBe(1);  // one refresh goes on, not two
});

it("stops polling with a refused token, and lists the active incidents as read last after one is given", async () => {
  const page = open("dashboard", ["page.js", "dashboard.js"], null);
  const login = (token: string) => {
    (document.getElementById("token") as HTMLInputElement).value = token;
    document.getElementById("login")!.dispatchEvent(new Event("submit", { cancelable: true }));
  };
  login("gs_sk_wrong");
  page.one("GET /api/v1/status").answer({ error: { message: "Invalid token." } }, 401);
  page.one("GET /api/v1/incidents").answer({ error: { message: "Invalid token." } }, 401);
  await settle();
  expect(document.getElementById("login")!.hidden).toBe(false);
  // no request goes out without a token ("Bearer null") while the page waits for one
  for (const t of page.timers.filter((t) => !t.cleared)) { t.cleared = true; t.fn(); }
  await settle();
  expect(page.requests.filter((r) => !r.answered)).toEqual([]);

  login("gs_sk_test");
  login("gs_sk_test");  // given twice, the first's reading still on its way
  const [first, second] = page.pending("GET /api/v1/incidents");
  const inc = { id: 5, title: "Invoices blank", status: "open", detected_at: "2026-03-02T09:30:00Z", topic: null };
  second.answer({ incidents: [inc], total: 1 });
  await settle();
  first.answer({ incidents: [], total: 0 });  // asked first, read before #5 was detected
  await settle();
  expect(document.querySelector("#incidents-now-list a")?.textContent).toBe("#5 Invoices blank");
  expect(page.timers.filter((t) => t.ms === 15000 && !t.cleared).length).toBe(1);  // one poll goes on, not two
});

it("opens a topic's name field empty while it goes by its keyword label: saved as it opens, no name goes out", async () => {
  // The keyword label is words from customers' tickets; a name is shown to customers in the known-issue banner.
  const page = await withTopics();
  link("invoice pdf").click();
  page.one("GET /api/v1/topics/1").answer(topic(1, "invoice pdf"));
  await settle();
  const input = document.querySelector("#topic-detail input") as HTMLInputElement;
  expect(input.value).toBe("");
  expect(input.placeholder).toBe("invoice pdf");
  document.querySelector("#topic-detail form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  await settle();
  // saved as it opened: nothing is sent, and the page says so
  expect(page.pending("PATCH /api/v1/topics/1")).toEqual([]);
  expect(document.querySelector("#topic-detail [role=status]")?.textContent).toBe("Name unchanged.");
  input.value = "Invoices";
  document.querySelector("#topic-detail form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  page.one("PATCH /api/v1/topics/1").answer(topic(1, "invoice pdf", "Invoices"));
  await settle();
  page.one("GET /api/v1/topics/1").answer(topic(1, "invoice pdf", "Invoices"));
  await settle();
  expect(document.querySelector("#topic-detail [role=status]")?.textContent)
    .toBe("Saved: the topic is called \u201cInvoices\u201d.");
});

it("takes a named topic's name away when the field is saved empty, and says so", async () => {
  const page = await withTopics();
  link("refund").click();
  page.one("GET /api/v1/topics/2").answer(topic(2, "refund", "Refunds"));
  await settle();
  (document.querySelector("#topic-detail input") as HTMLInputElement).value = " ";
  document.querySelector("#topic-detail form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  expect(page.one("PATCH /api/v1/topics/2").body).toEqual({ name: null });
  page.one("PATCH /api/v1/topics/2").answer(topic(2, "refund"));
  await settle();
  page.one("GET /api/v1/topics/2").answer(topic(2, "refund"));
  await settle();
  expect(document.querySelector("#topic-detail [role=status]")?.textContent)
    .toBe("Name removed: the topic goes by its keyword label again.");
});

it("opens a named topic's name field on its name", async () => {
  const page = await withTopics();
  link("refund").click();
  page.one("GET /api/v1/topics/2").answer(topic(2, "refund", "Refunds"));
  await settle();
  const input = document.querySelector("#topic-detail input") as HTMLInputElement;
  expect(input.value).toBe("Refunds");
  expect(input.placeholder).toBe("refund");  // what it goes by when saved empty
});

it("says each topic's last 24 h in numbers, and none as text", async () => {
  const page = open("dashboard", ["page.js", "dashboard.js"]);
  page.one("GET /api/v1/incidents").answer({ incidents: [], total: 0 });
  await settle();
  const hours = (counts: number[]) => counts.map((count) => ({ count }));
  page.one("GET /api/v1/topics?").answer({ topics: [
    { ...topic(1, "invoice pdf"), volume: hours([0, 3, 1200, 0, 2]) },
    { ...topic(2, "refund"), volume: hours([0, 1, 0]) },
    { ...topic(3, "login"), volume: hours([0, 0, 0]) },
    { ...topic(4, "export"), volume: [] },
  ] });
  await settle();
  const cells = Array.from(document.querySelectorAll("#topics tbody tr")).map((tr) => tr.children[2]);
  expect(cells.map((td) => td.querySelector("svg")?.getAttribute("aria-label") ?? null)).toEqual([
    "1,205 tickets in the last 24 h, at most 1,200 in one hour", "1 ticket in the last 24 h, at most 1 in one hour",
    null, null]);
  expect(cells.map((td) => td.textContent)).toEqual([
    "1,205 tickets in the last 24 h, at most 1,200 in one hour", "1 ticket in the last 24 h, at most 1 in one hour",
    "none", "none"]);
});
