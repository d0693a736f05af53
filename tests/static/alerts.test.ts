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
