// The incidents page's "Where alerts go" in a real browser, against a real backend (the incidents seed): what
// the server refuses in the Slack form or the webhook form is said under it by the fields' labels, the
// fields are marked invalid and the first gets the cursor; a test that fails (Slack's or a webhook's) and a
// webhook's last delivery say why in words, not error codes; the incident webhook's URL field says whether
// https is required, as the deployment decides (WEBHOOK_REQUIRE_HTTPS; tests/notify/test_webhooks_api.py
// has the default, https); on a phone (390 px) a webhook's buttons are on the screen.
import { test, expect } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;

// Times and counts are checked as page.js writes them in English ("Nov 23, 2026, 04:57 AM", "1,986").
test.use({ locale: "en-US" });

test.beforeAll(async () => {
  // private addresses allowed, so that a webhook can be pointed at loopback; https required, as by default
  backend = await startBackend({ seed: "incidents", settings: { WEBHOOK_ALLOW_PRIVATE: "1" } });
});

test.afterAll(async () => { await backend.stop(); });

test("a Slack setting the server refuses is said next to the form in its labels' words, on the fields it names",
  async ({ page }) => {
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("dialog", (d) => { problems.push("dialog: " + d.message()); void d.dismiss(); });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const form = page.locator("#slack-form");
    await expect(form).toBeVisible();
    const said = page.locator("#slack-message");
    const url = page.getByLabel("Incoming webhook URL");
    const secret = page.getByLabel("Signing secret (Acknowledge, Useful and Noise buttons)");

    // An incoming webhook without its URL: the field is named by its label, marked, and has the cursor.
    await page.getByLabel("Send incidents").selectOption("webhook");
    await page.getByRole("button", { name: "Save Slack settings" }).click();
    await expect(said).toHaveText("Slack settings not saved. Incoming webhook URL: required for an incoming webhook.");
    await expect(said).toHaveClass("detail-error");
    await expect(url).toHaveAttribute("aria-invalid", "true");
    await expect(url).toHaveAttribute("aria-describedby", "slack-message");
    await expect(url).toBeFocused();
    await expect(page.locator("#alerts-message")).toBeHidden();  // not under the webhooks table
    // the message is the field's description, as a screen reader announces it with the field
    expect(await url.evaluate((e) => document.getElementById(e.getAttribute("aria-describedby")!)!.textContent))
      .toContain("Incoming webhook URL: required");

    // Typing in it takes the marks off; another refusal (a host that is not Slack's) puts them back.
    await url.fill("https://example.com/hook");
    await expect(url).not.toHaveAttribute("aria-invalid", /.*/);
    await expect(url).not.toHaveAttribute("aria-describedby", /.*/);
    await page.getByRole("button", { name: "Save Slack settings" }).click();
    await expect(said).toHaveText("Slack settings not saved. Incoming webhook URL: must be a Slack incoming webhook " +
                                  "address (https://), on hooks.slack.com.");
    await expect(url).toHaveAttribute("aria-invalid", "true");
    await expect(url).toBeFocused();

    // A bot's channel with neither token nor channel: both named, in the form's order; the first is focused.
    // Choosing the mode took the webhook URL's marks off.
    await page.getByLabel("Send incidents").selectOption("web_api");
    await expect(url).not.toHaveAttribute("aria-invalid", /.*/);
    await page.getByRole("button", { name: "Save Slack settings" }).click();
    await expect(said).toHaveText("Slack settings not saved. Bot token: required for a channel with a bot token. " +
                                  "Channel: required for a channel with a bot token.");
    await expect(page.getByLabel("Bot token")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Channel")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Channel")).toHaveAttribute("aria-describedby", "slack-message");
    await expect(page.getByLabel("Bot token")).toBeFocused();

    // Saved: the marks go and the form says so.
    await page.getByLabel("Send incidents").selectOption("webhook");
    await page.getByRole("button", { name: "Save Slack settings" }).click();
    await expect(url).toHaveAttribute("aria-invalid", "true");
    await url.fill("https://hooks.slack.com/services/T000/B000/s3cr3tPart");
    await secret.fill("short");
    await page.getByRole("button", { name: "Save Slack settings" }).click();
    await expect(said).toHaveText("Slack settings not saved. Signing secret: must be 16 to 200 characters long.");
    await expect(secret).toBeFocused();
    await secret.fill("");
    await page.getByRole("button", { name: "Save Slack settings" }).click();
    await expect(said).toHaveText("Slack settings saved. Send a test message to check them.");
    await expect(said).toHaveClass("hint");
    for (const field of ["#slack-mode", "#slack-webhook-url", "#slack-bot-token", "#slack-channel", "#slack-signing-secret"]) {
      await expect(page.locator(field)).not.toHaveAttribute("aria-invalid", /.*/);
      await expect(page.locator(field)).not.toHaveAttribute("aria-describedby", /.*/);
    }
    await expect(page.locator("#alerts-slack")).toHaveText(/^Slack: one message per incident event \(incoming webhook\)/);
    expect(problems).toEqual([]);
  });

// "Nov 23, 2026, 04:57 AM", as page.js's GS.when writes a moment in English
const WHEN = /[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2} [AP]M/;

test("a webhook the server refuses is said under the form by the field's label, in words, with the field marked",
  async ({ page }) => {
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const alerts = page.locator("#alerts");
    const said = alerts.locator("#alerts-message");
    const target = alerts.getByLabel("Webhook URL (https)");
    await expect(target).toBeVisible();

    // not a web address (the schema's "Not a valid URL."), then plain http (the URL check's "must use https")
    for (const url of ["ftp://x", "http://example.com/hook"]) {
      await target.fill(url);
      await alerts.getByRole("button", { name: "Add webhook" }).click();
      await expect(said).toHaveText("Webhook not added. Webhook URL: must be an https:// web address.");
      await expect(said).toHaveClass("detail-error");
      await expect(target).toHaveAttribute("aria-invalid", "true");
      await expect(target).toHaveAttribute("aria-describedby", "alerts-message");
      await expect(target).toBeFocused();
    }
    await target.fill("https://ops.example.com/other");  // typing takes the mark off
    await expect(target).not.toHaveAttribute("aria-invalid", /.*/);

    // a PagerDuty key: the placeholder states the rule the server checks, and a refusal says it again
    await alerts.locator("#webhook-format").selectOption("pagerduty");
    const key = alerts.getByLabel("Integration (routing) key");
    await expect(key).toHaveAttribute("placeholder", "20 to 64 letters and digits");
    await key.fill("short");
    await alerts.getByRole("button", { name: "Add webhook" }).click();
    await expect(said).toHaveText("Webhook not added. Integration (routing) key: must be 20 to 64 letters and digits.");
    await expect(key).toBeFocused();
    await key.fill("R0UT1NG-KEY-0123456789abcdef");
    await alerts.getByRole("button", { name: "Add webhook" }).click();
    await expect(said).toHaveText("Webhook not added. Integration (routing) key: must be letters and digits only.");
    await expect(said).not.toContainText("error.fields");
    await alerts.locator("#webhook-format").selectOption("groundswell");  // another format: the marks go
    await expect(target).not.toHaveAttribute("aria-invalid", /.*/);
    expect(problems).toEqual([]);
  });

test("a webhook's failed test and last delivery say what went wrong in words", async ({ page }) => {
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const alerts = page.locator("#alerts");
  const seeded = alerts.locator("tr.webhook-row").first();
  await expect(seeded.locator(".last-delivery")).toHaveText(new RegExp(
    `^failed opened of #\\d+ at ${WHEN.source}: the receiver answered HTTP 503; gave up after 8 attempts$`));

  await alerts.getByLabel("Webhook URL (https)").fill("https://127.0.0.1:9/hook");  // nothing listens there
  await alerts.locator("#webhook-description").fill("unreachable");
  await alerts.getByRole("button", { name: "Add webhook" }).click();
  const added = alerts.locator("tr.webhook-row", { hasText: "unreachable" });
  await expect(added).toHaveCount(1);
  await expect(alerts.getByLabel("Webhook URL (https)")).toHaveValue("");  // the form is ready for the next one
  await expect(alerts.locator("#webhook-description")).toHaveValue("");
  const id = await added.getAttribute("data-id");
  await added.getByRole("button", { name: "Send test" }).click();
  await expect(alerts.locator("#alerts-message")).toHaveText(
    `Webhook #${id}: the test failed: could not reach the receiver (connection failed).`);
  await expect(added.locator(".last-delivery .webhook-test")).toHaveText(
    new RegExp(`^Test at ${WHEN.source}: failed: could not reach the receiver \\(connection failed\\)$`));
  await added.getByRole("button", { name: "Remove" }).click();
  await added.getByRole("button", { name: "Remove? Click again" }).click();
  await expect(added).toHaveCount(0);
});

test("muting an incident from its detail shows in the Muted list below at once, and unmuting takes it off",
  async ({ page }) => {
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const muted = page.locator("#alerts-mutes");
    await expect(muted).toHaveText("No notifications are muted.");
    await page.locator(`button.incident-item[data-id="${backend.incident_id}"]`).click();
    const detail = page.locator("#incident-detail");
    await page.locator("#by").fill("Dana");
    await detail.getByRole("button", { name: "This incident" }).click();
    await expect(detail.locator(".mute .muted-line")).toContainText("Notifications muted for this incident until");
    await expect(muted).toHaveText(new RegExp(`^Incident #${backend.incident_id} muted until ${WHEN.source} · by Dana`));
    await detail.getByRole("button", { name: "Unmute" }).click();
    await expect(muted).toHaveText("No notifications are muted.");
  });

test("on a phone the webhooks stack: each row's buttons are on the screen, nothing scrolls sideways", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const row = page.locator("#alerts tr.webhook-row").first();
  await expect(row).toBeVisible();
  for (const name of ["Send test", "Remove"]) {  // within the screen's width as drawn, before any scrolling
    const box = (await row.getByRole("button", { name }).boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
  }
  await expect(row.locator(".last-delivery")).toHaveAttribute("data-label", "Last delivery");
  expect(await page.locator("#alerts table.webhooks").evaluate((t) => t.scrollWidth <= t.clientWidth)).toBe(true);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});

test.describe("a Slack incoming webhook that cannot be reached", () => {
  let unreachable: Backend;
  test.beforeAll(async () => {
    // a loopback "Slack" on a port nothing listens on: Slack's hosts are never called from a test
    unreachable = await startBackend({ seed: "empty", settings: { SLACK_WEBHOOK_HOSTS: "127.0.0.1" } });
  });
  test.afterAll(async () => { await unreachable.stop(); });

  test("its test message says so in words, not the client's error code", async ({ page }) => {
    await page.goto(`${unreachable.url}/incidents#token=${unreachable.api_token}`);
    await page.getByLabel("Send incidents").selectOption("webhook");
    await page.getByLabel("Incoming webhook URL").fill("http://127.0.0.1:9/services/T000/B000/x");
    await page.getByRole("button", { name: "Save Slack settings" }).click();
    const said = page.locator("#slack-message");
    await expect(said).toHaveText("Slack settings saved. Send a test message to check them.");
    await page.getByRole("button", { name: "Send a test message" }).click();
    await expect(said).toHaveText("Slack test failed: could not reach Slack (connection failed).");
    await expect(said).toHaveClass("detail-error");
  });
});

test.describe("a deployment that allows plain http for incident webhooks", () => {
  let open: Backend;
  test.beforeAll(async () => {
    open = await startBackend({ seed: "incidents", settings: { WEBHOOK_ALLOW_PRIVATE: "1", WEBHOOK_REQUIRE_HTTPS: "0" } });
  });
  test.afterAll(async () => { await open.stop(); });

  test("labels the URL field http or https, and takes an http URL", async ({ page }) => {
    await page.goto(`${open.url}/incidents#token=${open.api_token}`);
    const alerts = page.locator("#alerts");
    await expect(alerts.locator("#webhook-target-label")).toHaveText("Webhook URL (http or https)");
    await alerts.getByLabel("Webhook URL (http or https)").fill("ftp://x");
    await alerts.getByRole("button", { name: "Add webhook" }).click();
    await expect(alerts.locator("#alerts-message"))
      .toHaveText("Webhook not added. Webhook URL: must be an http:// or https:// web address.");
    await alerts.getByLabel("Webhook URL (http or https)").fill("http://example.com/hook");
    await alerts.getByRole("button", { name: "Add webhook" }).click();
    await expect(alerts.locator("tr.webhook-row", { hasText: "http://example.com/hook" })).toHaveCount(1);
    // a PagerDuty service still asks for its key
    await alerts.locator("#webhook-format").selectOption("pagerduty");
    await expect(alerts.locator("#webhook-target-label")).toHaveText("Integration (routing) key");
  });
});
