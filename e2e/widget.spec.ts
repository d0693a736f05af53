// The widget in a real browser against a real backend: capture reaches the event log, a stuck session gets
// a nudge, an open incident shows a banner whose dismissal sticks, the strict-CSP page works, and nothing
// typed into an input ever leaves the page.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { test, expect, type Locator, type Page, type Request } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;
test.beforeAll(async () => {
  backend = await startBackend({ seed: "widget", detector: true, settings: { DEMO_PAGES: "1" } });
});
test.afterAll(async () => {
  await backend.stop();
});

interface Stored {
  kind: string;
  payload: { type: string; url: string; target?: string; session_id: string; data?: Record<string, unknown> };
}

/** Widget events in the backend's event log, read straight from its SQLite file. */
function storedEvents(): Stored[] {
  const file = backend.database_url.replace(/^sqlite:\/\/\//, "");
  const py = [
    "import json, sqlite3, sys",
    "rows = sqlite3.connect(sys.argv[1]).execute(\"select kind, payload from events where source = 'widget' order by offset\")",
    "print(json.dumps([{'kind': k, 'payload': json.loads(p)} for k, p in rows]))",
  ].join("\n");
  const python = process.env.GROUNDSWELL_PYTHON ?? path.join(process.cwd(), ".venv", "bin", "python");
  return JSON.parse(execFileSync(python, ["-c", py, file], { encoding: "utf8" }));
}

/** Every batch the page sends to the events endpoint, as sent. */
function recordBatches(page: Page): string[] {
  const bodies: string[] = [];
  page.on("request", (req: Request) => {
    if (req.url().endsWith("/api/v1/events") && req.method() === "POST") bodies.push(req.postData() ?? "");
  });
  return bodies;
}

async function widgetReady(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { groundswell?: { loaded?: boolean } }).groundswell?.loaded === true);
}

/** Presses Tab until `target` (in the widget's shadow root) has focus: moving into the widget by keyboard. */
async function tabTo(page: Page, target: Locator): Promise<void> {
  const focused = () => target.evaluate((el) => el === (el.getRootNode() as ShadowRoot).activeElement);
  for (let i = 0; i < 10 && !(await focused()); i++) await page.keyboard.press("Tab");
  await expect(target).toBeFocused();
}

test("a rage click and a failed request reach the backend as events", async ({ page }) => {
  await page.goto(`${backend.url}/demo/acme/billing`);
  await widgetReady(page);
  for (let i = 0; i < 4; i++) await page.click("#export", { delay: 20 });
  // "Export statement" does nothing: after 2.75 s without any page activity it is also a dead click
  await expect.poll(() => storedEvents().some((e) => e.kind === "widget.dead_click"), { timeout: 12_000 }).toBe(true);
  await page.click("#pay");
  await expect(page.locator("#pay-status")).toHaveText("Payment failed. Please try again.");
  await expect.poll(() => storedEvents().map((e) => e.kind), { timeout: 15_000 }).toEqual(
    expect.arrayContaining(["widget.page_view", "widget.rage_click", "widget.failed_request"]),
  );
  const events = storedEvents();
  const rage = events.find((e) => e.kind === "widget.rage_click")!;
  expect(rage.payload.target).toBe("button#export[Export statement]");
  expect(Number(rage.payload.data!.count)).toBeGreaterThanOrEqual(3);
  const failed = events.find((e) => e.kind === "widget.failed_request")!;
  expect(failed.payload.data).toMatchObject({ method: "POST", status: 500, path: "/demo/acme/api/pay" });
  expect(failed.payload.url).toBe(`${backend.url}/demo/acme/billing`);
  expect(failed.payload.data!.error_click).toBe(true);
  expect(failed.payload.target).toBe("button#pay.primary[Pay now]");
});

test("a stuck session gets a nudge, announced, rendered as text and dismissible with Escape", async ({ page }) => {
  await page.goto(`${backend.url}/demo/acme/billing`);
  await widgetReady(page);
  const pay = page.locator("#pay");
  const stuck = async () => {
    for (let i = 0; i < 3; i++) {
      await pay.click();
      await page.waitForTimeout(300);
    }
  };
  await stuck();
  // in the polite live region, as banners are; focus stays where the person is
  const card = page.locator("[data-gs-ui] [role=status] [data-nudge]");
  await expect(card).toBeVisible({ timeout: 20_000 });
  await expect(card).toContainText("Having trouble paying an invoice?");
  await expect(card.getByRole("link", { name: "Other ways to pay (opens in a new tab)", exact: true }))
    .toHaveAttribute("href", `${backend.url}/demo/acme/help/payments`);
  await expect(pay).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(card).toHaveCount(0);
  await expect(pay).toBeFocused();
  await expect.poll(() => storedEvents().map((e) => e.kind), { timeout: 15_000 }).toEqual(
    expect.arrayContaining(["widget.nudge_shown", "widget.nudge_dismissed"]),
  );
  // the tip the person closed does not come back in this session, though the payment keeps failing
  const decided = page.waitForResponse((r) => r.url().endsWith("/api/v1/widget/decide"), { timeout: 20_000 });
  await pay.click();
  expect((await (await decided).json()).nudge).toBeNull();
  await expect(card).toHaveCount(0);
  // the next tip is another one, closed from inside by keyboard: focus goes back to where the person came from
  const apply = page.locator("#coupon-form button[type=submit]");
  for (let i = 0; i < 3; i++) {
    await page.fill("#coupon", `NOPE${i}`);
    await apply.click();
    await page.waitForTimeout(1100);  // the widget reports a field once per attempt
  }
  await expect(card).toBeVisible({ timeout: 20_000 });
  await expect(card).toContainText("Coupon not accepted?");
  await apply.focus();
  await card.getByRole("button", { name: "Dismiss this tip" }).focus();
  await page.keyboard.press("Enter");
  await expect(card).toHaveCount(0);
  await expect(apply).toBeFocused();
});

test("bad coupons bring the coupon tip, not the payment one", async ({ page }) => {
  await page.goto(`${backend.url}/demo/acme/billing`);
  await widgetReady(page);
  for (let i = 0; i < 3; i++) {
    await page.fill("#coupon", `NOPE${i}`);
    await page.click("#coupon-form button[type=submit]");
    await expect(page.locator("#coupon-status")).toHaveText("That coupon is not valid.");
    await page.waitForTimeout(1100);  // the widget reports a field once per attempt
  }
  const card = page.locator("[data-gs-ui] [data-nudge]");
  await expect(card).toBeVisible({ timeout: 20_000 });
  await expect(card).toContainText("Coupon not accepted?");
  await expect(card).not.toContainText("paying");
});

test("on a phone the banner and the tip share one compact card at the bottom", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ reducedMotion: "reduce" });  // measured where the cards rest, not while they slide in
  await page.goto(`${backend.url}/demo/acme/billing`);
  await widgetReady(page);
  const banner = page.locator("[data-gs-ui] [data-issue]");
  await expect(banner).toBeVisible();
  for (let i = 0; i < 3; i++) {
    await page.click("#pay");
    await page.waitForTimeout(300);
  }
  const card = page.locator("[data-gs-ui] [data-nudge]");
  await expect(card).toBeVisible({ timeout: 20_000 });
  const region = page.locator("[data-gs-ui] [role=status]");
  const box = (await region.boundingBox())!;
  // one card: the banner and the tip sit edge to edge inside it, across the screen, under a sixth of its height
  expect(box.height).toBeLessThan(844 / 6);
  expect(box.width).toBeGreaterThan(390 - 2 * 8 - 2);
  expect(box.y + box.height).toBeLessThanOrEqual(844 - 8 + 1);
  const [b, c] = [(await banner.boundingBox())!, (await card.boundingBox())!];
  expect(Math.abs(b.y + b.height - c.y)).toBeLessThanOrEqual(1.5);
  // Its close button is drawn small in the compact card, but a thumb beside it still closes the tip.
  const x = (await card.getByRole("button", { name: "Dismiss this tip" }).boundingBox())!;
  expect(x.width).toBeLessThan(44);
  await page.mouse.click(x.x - 6, x.y + x.height + 5);
  await expect(card).toHaveCount(0);
});

test("a long word or URL wraps inside the banner and the tip on a phone", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  // a status page URL in a declared issue's message, and a tip made of one long word
  const url = `https://status.example.com/incidents/${"averyveryverylongwordwithoutanyspaces".repeat(3)}`;
  const json = (body: unknown) => ({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
  await page.route("**/api/v1/widget/known-issues?**", (r) => r.fulfill(json({ issues: [
    { id: "long", message: `Payments are failing, see ${url} for updates.`, link_url: url, incident_id: null }] })));
  await page.route("**/api/v1/widget/decide", (r) => r.fulfill(json({
    nudge: { id: "long-tip", title: url, body: `Read ${url}`, link_url: url, link_text: url },
    reason: "nudge", holdout: false, p_ticket: null, banners: [] })));
  await page.goto(`${backend.url}/demo/acme/billing`);
  await widgetReady(page);
  for (let i = 0; i < 3; i++) await page.click("#pay");
  const banner = page.locator("[data-gs-ui] [data-issue]");
  const tip = page.locator("[data-gs-ui] [data-nudge]");
  await expect(banner).toBeVisible();
  await expect(tip).toBeVisible({ timeout: 20_000 });
  for (const card of [banner, tip]) {
    const fit = await card.evaluate((el) => {
      const box = el.getBoundingClientRect();
      return {
        scroll: el.scrollWidth, client: el.clientWidth, right: box.right,
        parts: [...el.querySelectorAll(".msg, .title, .body, a")].map((p) => p.getBoundingClientRect().right - box.right),
      };
    });
    expect(fit.scroll).toBeLessThanOrEqual(fit.client);
    expect(fit.right).toBeLessThanOrEqual(390);
    for (const over of fit.parts) expect(over).toBeLessThanOrEqual(0.5);
  }
});

test("an open incident on the page shows a banner whose dismissal sticks across reloads", async ({ page }) => {
  await page.goto(`${backend.url}/demo/acme/billing`);
  const banner = page.locator("[data-gs-ui] [role=status] [data-issue]");
  await expect(banner).toBeVisible();
  await expect(banner).not.toBeEmpty();
  // keyboard: from the page's last button, Tab into the banner to its close button; Escape closes the banner
  // and focus goes back to that button, not to the page's body
  const apply = page.locator("#coupon-form button[type=submit]");
  await apply.focus();
  await tabTo(page, banner.getByRole("button", { name: "Dismiss this notice" }));
  await page.keyboard.press("Escape");
  await expect(banner).toHaveCount(0);
  await expect(apply).toBeFocused();
  const issues = page.waitForResponse((r) => r.url().includes("/api/v1/widget/known-issues"));
  await page.reload();
  await issues;
  await page.waitForTimeout(300);
  await expect(banner).toHaveCount(0);
  // the same page on another route shows nothing either, and coming back still remembers the dismissal
  await page.click("[data-route=invoices]");
  await expect(page).toHaveURL(/\/demo\/acme\/invoices$/);
  await page.click("[data-route=billing]");
  await page.waitForTimeout(300);
  await expect(banner).toHaveCount(0);
});

test("a detected incident's banner links to the product's status page, which lists it", async ({ page }) => {
  await page.goto(`${backend.url}/demo/acme/billing`);
  const banner = page.locator("[data-gs-ui] [role=status] [data-issue]");
  await expect(banner).toBeVisible();
  // a region named as the tip's is ("Help tip"), its link saying that it opens in a new tab
  await expect(page.getByRole("region", { name: "Known issue", exact: true })).toHaveAttribute("data-issue", /.+/);
  const link = banner.getByRole("link", { name: "Status and updates (opens in a new tab)", exact: true });
  await expect(link).toHaveText("Status and updates (opens in a new tab)");
  const hidden = (await link.locator(".sr").boundingBox())!;
  expect(hidden.width * hidden.height).toBeLessThanOrEqual(1);  // on the screen it still reads "Status and updates"
  // it opens in a new tab, leaving the person's page as it was
  const [status] = await Promise.all([page.waitForEvent("popup"), link.click()]);
  await expect(status).toHaveURL(/\/demo\/acme\/status$/);
  await expect(page).toHaveURL(/\/demo\/acme\/billing$/);
  await expect(status.getByRole("heading", { level: 1 })).toHaveText("Status");
  await expect(status).toHaveTitle("Status · Acme Billing");
  const problem = status.locator("#view-status li");
  await expect(problem).toHaveCount(1);
  await expect(problem.getByRole("heading")).toHaveText("Billing: Investigating");
  await expect(problem).toContainText("Some actions here are failing for several people. We are looking into it.");
});

test("each browser on Acme Billing is its own user, kept across reloads", async ({ browser }) => {
  const userOf = async (page: Page): Promise<string> => {
    const decide = page.waitForRequest((r) => r.url().endsWith("/api/v1/widget/decide"));
    for (let i = 0; i < 3; i++) await page.click("#pay");
    return JSON.parse((await decide).postData() ?? "{}").user_id;
  };
  const [a, b] = [await browser.newContext(), await browser.newContext()];
  try {
    const pa = await a.newPage(), pb = await b.newPage();
    await pa.goto(`${backend.url}/demo/acme/billing`);
    await pb.goto(`${backend.url}/demo/acme/billing`);
    await Promise.all([widgetReady(pa), widgetReady(pb)]);
    const [ua, ub] = [await userOf(pa), await userOf(pb)];
    expect(ua).toMatch(/^acme-user-[0-9a-f]{12}$/);
    expect(ub).toMatch(/^acme-user-[0-9a-f]{12}$/);
    expect(ua).not.toBe(ub);  // the help tips' daily cap, per user, is each visitor's own
    await pa.reload();
    await widgetReady(pa);
    expect(await userOf(pa)).toBe(ua);
  } finally {
    await a.close();
    await b.close();
  }
});

test("the strict-CSP page works without a single violation", async ({ page }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) consoleErrors.push(m.text());
  });
  const resp = await page.goto(`${backend.url}/demo/acme/strict`);
  expect(resp!.headers()["content-security-policy"]).toContain("script-src 'self'");
  expect(resp!.headers()["content-security-policy"]).not.toContain("unsafe-");
  await widgetReady(page);
  const banner = page.locator("[data-gs-ui] [data-issue]");
  await expect(banner).toBeVisible();
  // the widget's styles applied through adoptedStyleSheets: the host is fixed in the corner
  const position = await page.locator("[data-gs-ui]").evaluate((el) => getComputedStyle(el).position);
  expect(position).toBe("fixed");
  for (let i = 0; i < 3; i++) {
    await page.click("#pay");
    await page.waitForTimeout(300);
  }
  await expect(page.locator("[data-gs-ui] [data-nudge]")).toBeVisible({ timeout: 20_000 });
  expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
  expect(consoleErrors).toEqual([]);
});

test("captured payloads never contain what was typed into inputs", async ({ page }) => {
  const batches = recordBatches(page);
  await page.goto(`${backend.url}/demo/acme/billing`);
  await widgetReady(page);
  const secrets = ["4929123456781234", "Jane Q Secretname", "SAVEBIG-PRIVATE"];
  await page.fill("#card_number", secrets[0]);
  await page.fill("#card_name", secrets[1]);
  await page.click("#save-card"); // fails native validation? no: both fields filled, pattern matches
  await page.fill("#card_number", "12zq!");  // (no id the widget makes holds a "!")
  await page.click("#save-card"); // now the pattern fails: a form_error
  await page.fill("#coupon", secrets[2]);
  for (let i = 0; i < 3; i++) await page.click("#coupon", { delay: 10 });
  await page.click("text=Apply");
  await expect(page.locator("#coupon-status")).toHaveText("That coupon is not valid.");
  await page.evaluate(() => (window as unknown as { groundswell: (c: string) => Promise<void> }).groundswell("flush"));
  await expect.poll(() => storedEvents().some((e) => e.kind === "widget.form_error"), { timeout: 10_000 }).toBe(true);
  // leaving the page sends the rest by beacon
  await page.goto("about:blank");
  await expect.poll(() => batches.length).toBeGreaterThan(0);
  const sent = batches.join("\n") + JSON.stringify(storedEvents());
  for (const s of [...secrets, "12zq!", "Secretname", "SAVEBIG"]) expect(sent).not.toContain(s);
  const formErrors = storedEvents().filter((e) => e.kind === "widget.form_error").map((e) => e.payload.data);
  expect(formErrors).toEqual(expect.arrayContaining([
    expect.objectContaining({ form: "card", field: "card_number" }),
    expect.objectContaining({ form: "coupon", field: "code", source: "aria" }),
  ]));
});
