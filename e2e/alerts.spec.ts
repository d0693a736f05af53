// The incidents page's "Where alerts go" in a real browser, against a real backend (the incidents seed): what
// the server refuses in the Slack form is said under it by the fields' labels, the fields are marked invalid
// and the first gets the cursor; the incident webhook's URL field says whether https is required, as the
// deployment decides (WEBHOOK_REQUIRE_HTTPS; tests/notify/test_webhooks_api.py has the default, https).
import { test, expect } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;

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

test.describe("a deployment that allows plain http for incident webhooks", () => {
  let open: Backend;
  test.beforeAll(async () => {
    open = await startBackend({ seed: "incidents", settings: { WEBHOOK_ALLOW_PRIVATE: "1", WEBHOOK_REQUIRE_HTTPS: "0" } });
  });
  test.afterAll(async () => { await open.stop(); });

  test("labels the URL field http or https, and takes an http URL", async ({ page }) => {
    await page.goto(`${open.url}/incidents#token=${open.api_token}`);
    const alerts = page.locator("#alerts");
    await expect(alerts.locator("#webhook-target-label")).toHaveText("URL (http or https)");
    await alerts.getByLabel("URL (http or https)").fill("http://example.com/hook");
    await alerts.getByRole("button", { name: "Add webhook" }).click();
    await expect(alerts.locator("tr.webhook-row", { hasText: "http://example.com/hook" })).toHaveCount(1);
    // a PagerDuty service still asks for its key
    await alerts.locator("#webhook-format").selectOption("pagerduty");
    await expect(alerts.locator("#webhook-target-label")).toHaveText("Integration (routing) key");
  });
});
