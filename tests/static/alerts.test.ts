// The incidents page's "Where alerts go" (server/static/alerts.js): reloaded after each action and every minute,
// the section shows what was read last, and Slack's settings as last saved, whatever order the answers come in.
import { expect, it } from "vitest";
import { open, settle, type Page } from "./harness";

function hook(id: number): Record<string, unknown> {
  return { id, format: "groundswell", url: "https://ops.example.com/hooks/" + id, description: null,
           events: ["opened", "resolved"], kinds: null, last_delivery: null, pending: 0 };
}

const OFF = { mode: "off", channel: null, webhook_url_set: false, bot_token_set: false, signing_secret_set: false };
const WEBHOOK = { ...OFF, mode: "webhook", webhook_url_set: true };

function answerLoad(page: Page, slack: object, hooks: object[], which = 0): void {
  page.pending("GET /api/v1/settings/notifications")[which].answer(slack);
  page.pending("GET /api/v1/settings/webhooks")[which].answer({ webhooks: hooks, require_https: true });
  page.pending("GET /api/v1/mutes")[which].answer({ mutes: [] });
}

const rows = () => Array.from(document.querySelectorAll("#alerts-webhooks tr.webhook-row"))
  .map((tr) => (tr as HTMLElement).dataset.id);

function remove(id: number): void {
  const row = document.querySelector(`#alerts-webhooks tr.webhook-row[data-id="${id}"]`)!;
  const button = Array.from(row.querySelectorAll("button")).find((b) => b.textContent === "Remove")!;
  button.click();
  button.click();  // the second click confirms
}

it("shows the webhooks as read after the last removal when an earlier reload answers last", async () => {
  const page = open("incidents", ["page.js", "alerts.js"]);
  answerLoad(page, OFF, [hook(1), hook(2)]);
  await settle();
  expect(rows()).toEqual(["1", "2"]);

  remove(1);
  page.one("DELETE /api/v1/settings/webhooks/1").answer(null, 204);
  await settle();
  remove(2);
  page.one("DELETE /api/v1/settings/webhooks/2").answer(null, 204);
  await settle();
  answerLoad(page, OFF, [], 1);  // the reload after the second removal answers first
  await settle();
  expect(document.getElementById("alerts-webhooks")!.textContent).toBe("No incident webhooks yet.");
  answerLoad(page, OFF, [hook(2)], 0);  // then the one after the first, read before #2 went
  await settle();
  expect(rows()).toEqual([]);
  expect(document.getElementById("alerts-message")!.textContent).toBe("Webhook #2 removed.");
});

it("keeps Slack's settings as saved when the minute's refresh, read before the save, answers after it", async () => {
  const page = open("incidents", ["page.js", "alerts.js"]);
  answerLoad(page, OFF, []);
  await settle();
  expect(document.getElementById("alerts-slack")!.textContent).toBe("Slack: off. Choose where incidents go below.");

  page.timers.find((t) => t.ms === 60000)!.fn();  // the minute's refresh, on its way
  const mode = document.getElementById("slack-mode") as HTMLSelectElement;
  mode.value = "webhook";
  mode.dispatchEvent(new Event("change", { bubbles: true }));
  (document.getElementById("slack-webhook-url") as HTMLInputElement).value = "https://hooks.slack.com/services/T/B/x";
  document.getElementById("slack-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  page.one("PUT /api/v1/settings/notifications").answer(WEBHOOK);
  await settle();
  const line = document.getElementById("alerts-slack")!.textContent;
  expect(line).toMatch(/^Slack: one message per incident event/);
  answerLoad(page, OFF, [hook(3)]);  // the refresh read Slack's settings before the save
  await settle();
  expect(document.getElementById("alerts-slack")!.textContent).toBe(line);
  expect(mode.value).toBe("webhook");
  expect(rows()).toEqual(["3"]);  // the rest of what it read is drawn

  page.timers.find((t) => t.ms === 60000)!.fn();  // the next refresh, asked after the save, draws Slack again
  answerLoad(page, OFF, [hook(3)]);
  await settle();
  expect(document.getElementById("alerts-slack")!.textContent).toBe("Slack: off. Choose where incidents go below.");
});

it("says a webhook's last test in its row, beside its deliveries, and keeps it through the minute's refresh", async () => {
  const page = open("incidents", ["page.js", "alerts.js"]);
  answerLoad(page, OFF, [hook(1), hook(2)]);
  await settle();
  const cell = (id: number) => document.querySelector(`#alerts-webhooks tr.webhook-row[data-id="${id}"] .last-delivery`)!;
  expect(cell(1).textContent).toBe("nothing sent yet");

  const send = (id: number) => Array.from(document.querySelectorAll(`tr.webhook-row[data-id="${id}"] button`))
    .find((b) => b.textContent === "Send test") as HTMLButtonElement;
  send(1).click();
  page.one("POST /api/v1/settings/webhooks/1/test").answer({ ok: false, status: null, error: "connection_error" });
  await settle();
  expect(cell(1).querySelector(".webhook-test")!.className).toBe("detail-error webhook-test");
  expect(cell(1).textContent).toMatch(/^nothing sent yetTest at .+: failed: could not reach the receiver \(connection failed\)$/);
  expect(cell(2).querySelector(".webhook-test")).toBeNull();

  page.timers.find((t) => t.ms === 60000)!.fn();  // the minute's refresh draws the rows again
  answerLoad(page, OFF, [hook(1), hook(2)]);
  await settle();
  expect(cell(1).textContent).toMatch(/failed: could not reach the receiver \(connection failed\)$/);

  send(1).click();  // fixed meanwhile: the new test replaces the old line
  page.one("POST /api/v1/settings/webhooks/1/test").answer({ ok: true, status: 204, error: null });
  await settle();
  expect(cell(1).querySelectorAll(".webhook-test")).toHaveLength(1);
  expect(cell(1).querySelector(".webhook-test")!.textContent).toMatch(/^Test at .+: arrived \(HTTP 204\)$/);
});

it("says which delivery keeps failing in the warning colour, and never a muted one as the last delivery", async () => {
  const page = open("incidents", ["page.js", "alerts.js"]);
  answerLoad(page, OFF, [
    { ...hook(1), pending: 12,
      last_delivery: { incident_id: 3, event: "opened", at: "2026-12-05T01:10:00Z", ok: true, status: 204, error: null },
      last_skipped: { incident_id: 2, event: "grew", at: "2026-12-05T01:18:00Z", reason: "muted" },
      failing: { incident_id: 5, event: "opened", created_at: "2026-12-05T01:13:00Z", attempts: 5, status: null,
                 error: "connection_error", next_attempt_at: "2026-12-05T01:30:00Z", others: 2 } },
    { ...hook(2), format: "pagerduty", secret_hint: "KEY1", pending: 1, last_delivery: null, last_skipped: null,
      failing: { incident_id: 7, event: "grew", created_at: "2026-12-05T01:13:00Z", attempts: 1, status: 429,
                 error: "http_429", next_attempt_at: null } },
    { ...hook(3), pending: 0, failing: null,
      last_delivery: { incident_id: 4, event: "opened", at: "2026-12-05T01:20:00Z", ok: false, status: 503,
                       error: "gave up after 8 attempts: http_503" },
      last_skipped: { incident_id: 2, event: "opened", at: "2026-12-05T01:05:00Z", reason: "muted" } },
  ]);
  await settle();
  const cell = (id: number) => document.querySelector(`#alerts-webhooks tr.webhook-row[data-id="${id}"] .last-delivery`)!;
  const lines = (id: number) => Array.from(cell(id).children).map((e) => [e.className, e.textContent]);
  const at = "[A-Z][a-z]{2} \\d{1,2}, \\d{4}, \\d{2}:\\d{2} [AP]M";

  const one = lines(1);
  expect(one.map((l) => l[0])).toEqual(["detail-error webhook-failing", "webhook-last", "hint webhook-skipped"]);
  expect(one[0][1]).toMatch(new RegExp("^failing on opened of #5: could not reach the receiver \\(connection failed\\), " +
    `5 attempts, next try at ${at}; 2 other deliveries failing too; 12 waiting$`));
  expect(one[1][1]).toMatch(new RegExp(`^sent opened of #3 at ${at} \\(HTTP 204\\)$`));  // the waiting count said once
  expect(one[2][1]).toMatch(new RegExp(`^held back by a mute: grew of #2 at ${at}$`));

  const two = lines(2);  // a PagerDuty service that asked to slow down, never delivered to yet
  expect(two[0][1]).toBe("failing on grew of #7: PagerDuty asked to slow down (HTTP 429), 1 attempt; 1 waiting");
  expect(two[1][1]).toBe("nothing sent yet");
  expect(two).toHaveLength(2);

  // nothing failing: the last attempt and why it was given up; a skip older than it is not news
  expect(lines(3)).toEqual([["webhook-last", expect.stringMatching(new RegExp(
    `^failed opened of #4 at ${at}: the receiver answered HTTP 503; gave up after 8 attempts$`))]]);
});

it("reads the mutes again when an incident on the page is muted or unmuted", async () => {
  const page = open("incidents", ["page.js", "alerts.js"]);
  answerLoad(page, OFF, [hook(1)]);
  await settle();
  const muted = document.getElementById("alerts-mutes")!;
  expect(muted.textContent).toBe("No notifications are muted.");

  document.dispatchEvent(new Event("gs-incident-changed"));  // what incidents.js says after the detail's Mute
  page.one("GET /api/v1/settings/notifications").answer(OFF);
  page.one("GET /api/v1/settings/webhooks").answer({ webhooks: [hook(1)], require_https: true });
  page.one("GET /api/v1/mutes").answer({ mutes: [
    { id: 4, scope: "incident", incident_id: 2, series: null, until: "2026-12-05T02:15:00Z", reason: null, by: "Dana",
      created_at: "2026-12-05T01:15:00Z" }] });
  await settle();
  expect(muted.textContent).toMatch(/^Incident #2 muted until .+ · by Dana End$/);
});

it("empties the add form's URL and note once a webhook is added, and keeps the format chosen", async () => {
  const page = open("incidents", ["page.js", "alerts.js"]);
  answerLoad(page, OFF, []);
  await settle();
  const format = document.getElementById("webhook-format") as HTMLSelectElement;
  const target = document.getElementById("webhook-target") as HTMLInputElement;
  const note = document.getElementById("webhook-description") as HTMLInputElement;
  format.value = "pagerduty";
  format.dispatchEvent(new Event("change", { bubbles: true }));
  target.value = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12";
  note.value = "ops on call";
  document.getElementById("webhook-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  const post = page.one("POST /api/v1/settings/webhooks");
  expect(post.body).toEqual({ format: "pagerduty", routing_key: "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12",
                              description: "ops on call" });
  post.answer({ ...hook(9), format: "pagerduty", url: null, description: "ops on call" }, 201);
  await settle();
  expect([target.value, note.value, format.value]).toEqual(["", "", "pagerduty"]);
  expect(document.getElementById("alerts-message")!.textContent).toBe("Webhook #9 added: incident events go there from now on.");
});

it("ending a mute from the list tells the page, so an open incident no longer says it is muted", async () => {
  const page = open("incidents", ["page.js", "alerts.js"]);
  const mute = { id: 4, scope: "incident", incident_id: 2, series: null, until: "2026-12-05T02:15:00Z", reason: null,
                 by: "Dana", created_at: "2026-12-05T01:15:00Z" };
  page.one("GET /api/v1/settings/notifications").answer(OFF);
  page.one("GET /api/v1/settings/webhooks").answer({ webhooks: [], require_https: true });
  page.one("GET /api/v1/mutes").answer({ mutes: [mute] });
  await settle();
  let told = 0;
  document.addEventListener("gs-mutes-changed", () => { told += 1; });
  const end = Array.from(document.querySelectorAll("#alerts-mutes button")).find((b) => b.textContent === "End")!;
  (end as HTMLButtonElement).click();
  (end as HTMLButtonElement).click();  // the second click confirms
  page.one("DELETE /api/v1/mutes/4").answer(null, 204);
  await settle();
  expect(told).toBe(1);
  expect(document.getElementById("alerts-message")!.textContent).toBe("The mute on incident #2 ended.");
  expect(document.activeElement).toBe(document.getElementById("alerts-mutes-heading"));  // not the page's body
});

it("says a series mute by its words, not its key", async () => {
  const page = open("incidents", ["page.js", "alerts.js"]);
  page.one("GET /api/v1/settings/notifications").answer(OFF);
  page.one("GET /api/v1/settings/webhooks").answer({ webhooks: [], require_https: true });
  page.one("GET /api/v1/mutes").answer({ mutes: [{ id: 5, scope: "series", incident_id: null, series: "organization:900002",
                                                   until: "2026-12-05T02:15:00Z", reason: null, by: null }] });
  await settle();
  expect(document.getElementById("alerts-mutes")!.textContent).toMatch(/^organization 900002 muted until .+ End$/);
});
