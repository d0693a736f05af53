// The API reference page (/api/v1/docs) in a real browser: on a phone nothing scrolls sideways, and the
// contents list and the request-body schema names jump to what they name.
import { test, expect, type Page } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;
test.beforeAll(async () => { backend = await startBackend(); });
test.afterAll(async () => { await backend.stop(); });

/** How far the page is wider than its viewport (0 when nothing scrolls sideways). */
const sideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

for (const width of [390, 1280]) {
  test(`at ${width} px nothing scrolls sideways and every row stays inside the page, readable`, async ({ page }) => {
    await page.setViewportSize({ width, height: 844 });
    await page.goto(`${backend.url}/api/v1/docs`);
    expect(await sideways(page)).toBe(0);
    const outside = await page.evaluate(() => [...document.querySelectorAll("main table, main h3, main p, main dd, main li")]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .map((el) => (el.textContent ?? "").trim().slice(0, 60)));
    expect(outside).toEqual([]);
    // and no column is squeezed to a sliver: notes narrower than 200 px are short enough to fit on one line
    const squeezed = await page.evaluate(() => [...document.querySelectorAll("main td.notes")].filter((td) => {
      const range = document.createRange();
      range.selectNodeContents(td);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      return td.getBoundingClientRect().width < 200 && lines.size > 1;
    }).map((td) => (td.textContent ?? "").trim().slice(0, 60)));
    expect(squeezed).toEqual([]);
  });
}

test("the contents list and a request body's schema name lead to what they name", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${backend.url}/api/v1/docs`);
  const contents = page.getByRole("navigation", { name: "Contents" });
  await contents.getByRole("link", { name: "/api/v1/accounts/changes" }).click();
  await expect(page).toHaveURL(/#accounts_account_changes$/);
  const changes = page.locator("#accounts_account_changes");
  await expect(changes).toBeInViewport();
  const minRatio = changes.locator("tr", { has: page.locator("code", { hasText: /^min_ratio$/ }) });
  await expect(minRatio).toContainText("From 1.0 to 20.0.");
  await expect(minRatio).toBeVisible();

  await contents.getByRole("link", { name: "/api/v1/events" }).click();
  const events = page.locator("#ingest_post_events");
  await expect(events).toContainText("X-Groundswell-Site-Key: <value>");
  await events.getByRole("link", { name: "WidgetBatch", exact: true }).click();
  await expect(page).toHaveURL(/#schema-WidgetBatch$/);
  await expect(page.locator("#schema-WidgetBatch")).toBeInViewport();
  expect(await sideways(page)).toBe(0);
});

test("descriptions show their backtick spans as code, and a path parameter says what it names", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${backend.url}/api/v1/docs`);
  expect(await page.locator("main").innerText()).not.toContain("`");
  const incident = page.locator("#incidents_get_incident");
  const code = incident.locator("p code", { hasText: /^first_seen_at$/ });
  await expect(code).toBeVisible();
  expect(await code.evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/mono/i);
  const row = incident.locator("tr", { has: page.locator("code", { hasText: /^incident_id$/ }) });
  await expect(row.locator("td.notes")).toContainText("The incident's id, from GET /api/v1/incidents. From 0 to");
  await expect(row.locator("td.notes code", { hasText: /^id$/ })).toBeVisible();
  expect(await sideways(page)).toBe(0);
});
