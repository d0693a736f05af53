// The incidents page's detection settings in a real browser, against a real backend whose detector runs
// the backtest worker (the real embedding model): the stored settings in the form, a backtest of spikes
// turned off with its progress, the comparison (the week chart in weeks from Monday UTC, the dropped
// burst), a name typed as markup shown as text, and saving the settings.
import { test, expect } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;

test.beforeAll(async () => {
  backend = await startBackend({ seed: "backtest", detector: true });
});

test.afterAll(async () => { await backend.stop(); });

test("trying spikes off on past tickets shows the burst they would drop; saving applies them", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("dialog", (d) => { problems.push("dialog: " + d.message()); void d.dismiss(); });

  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const section = page.locator("#tuning");
  await expect(section).toBeVisible();
  await expect(section.getByLabel("A week, all kinds together")).toHaveValue("1");
  await expect(section.getByLabel("Spikes")).toHaveValue("1");
  await expect(section.getByLabel("Fewest customers for a volume incident")).toHaveValue("3");

  // A value out of range is refused in the page, before any request.
  await section.getByLabel("Fewest customers for a volume incident").fill("1");
  await section.getByRole("button", { name: "Try these settings" }).click();
  await expect(page.locator("#tuning-message")).toContainText("Fewest customers for a volume incident");
  await section.getByRole("button", { name: "Back to the stored ones" }).click();

  await page.locator("#by").fill("Admin <b>Ada</b>");
  await section.getByLabel("Spikes").fill("0");
  // A plan tier's multiplier: added, removed, added again.
  await section.getByLabel("Another plan tier").fill("enterprise");
  await section.getByLabel("Its multiplier").fill("3");
  await section.getByRole("button", { name: "Add", exact: true }).click();
  await expect(section.getByLabel("Plan enterprise", { exact: true })).toHaveValue("3");
  await section.getByRole("button", { name: "Remove plan enterprise" }).click();
  await expect(section.getByLabel("Plan enterprise", { exact: true })).toHaveCount(0);
  await section.getByLabel("Another plan tier").fill("enterprise");
  await section.getByRole("button", { name: "Add", exact: true }).click();
  await section.getByLabel("Try on the last").selectOption("30");
  await section.getByRole("button", { name: "Try these settings" }).click();
  const run = page.locator("#tuning-run");
  await expect(run).toContainText("Backtest #1: spikes off, plan enterprise × 3");
  await expect(run).toContainText("asked by Admin <b>Ada</b>"); // what people type is shown as text
  expect(await run.locator("b").count()).toBe(0);
  await expect(run.locator(".tuning-summary")).toBeVisible({ timeout: 90_000 });

  // Stored settings: the burst and maybe more; spikes off: no spike. The burst is a dropped row.
  await expect(run.locator(".tuning-summary")).toContainText("tickets and");
  await expect(run.locator(".tuning-summary")).toContainText(`${backend.tickets} tickets`);
  const dropped = run.locator("tr.in-current_only");
  expect(await dropped.count()).toBeGreaterThan(0);
  await expect(dropped.filter({ hasText: "Spikes" }).first()).toContainText("not opened live");
  expect(await run.locator("tr.in-proposed_only").count()).toBe(0);
  const bars = run.locator("svg.tuning-chart rect.bar.current");
  expect(await bars.count()).toBeGreaterThan(0);
  await expect(run.locator("figcaption")).toContainText("stored settings");

  // The week chart's weeks are the report's, from Monday 00:00 UTC, each under that Monday's date in UTC
  // wherever the reader is (here a reader in California, for whom that Monday starts on Sunday afternoon):
  // the burst's bars are under the week it was detected in, whatever hour the backtest started from.
  const listed = await (await page.request.get(`${backend.url}/api/v1/backtests`,
    { headers: { Authorization: `Bearer ${backend.api_token}` } })).json();
  const done = await (await page.request.get(`${backend.url}/api/v1/backtests/${listed.backtests[0].id}`,
    { headers: { Authorization: `Bearer ${backend.api_token}` } })).json();
  for (const week of done.result.weekly) {
    const start = new Date(week.week_start);
    expect([start.getUTCDay(), start.getUTCHours(), start.getUTCMinutes()]).toEqual([1, 0, 0]);
  }
  const spike = done.result.incidents.find(
    (i: { kind: string; in: string }) => i.kind === "spike" && i.in === "current_only");
  const detected = new Date(spike.detected_at);
  const monday = new Date(Date.UTC(detected.getUTCFullYear(), detected.getUTCMonth(),
                                   detected.getUTCDate() - (detected.getUTCDay() + 6) % 7));
  const label = monday.toLocaleDateString("en-US", { timeZone: "UTC" });
  const west = await browser.newContext({ timezoneId: "America/Los_Angeles", locale: "en-US" });
  const reader = await west.newPage();
  await reader.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const chart = reader.locator("#tuning-run svg.tuning-chart");
  await expect(chart).toBeVisible();
  expect(await chart.locator("text").allTextContents()).toContain(label);
  const burst = chart.locator("rect.bar.current").filter({
    has: reader.locator("title", { hasText: `week from Monday ${label} (UTC)` }) });
  await expect(burst).toHaveCount(1);
  expect(Number(await burst.getAttribute("height"))).toBeGreaterThan(0);
  await expect(reader.locator("#tuning-run figcaption")).toContainText("weeks from Monday, UTC");
  await west.close();

  // Saving sends the change; the form then shows the stored (new) values.
  await section.getByRole("button", { name: "Save settings" }).click();
  await expect(page.locator("#tuning-message")).toContainText("Saved (spikes off, plan enterprise × 3)");
  const stored = await page.evaluate(async (token) => {
    const r = await fetch("/api/v1/settings/detection", { headers: { Authorization: `Bearer ${token}` } });
    return r.json();
  }, backend.api_token);
  expect(stored.sensitivity.spike).toBe(0);
  expect(stored.plan_sensitivity).toEqual({ enterprise: 3 });

  // Reloading shows the last backtest again.
  await page.reload();
  await expect(page.locator("#tuning-run .tuning-summary")).toBeVisible();
  await expect(page.locator("#tune-kind-spike")).toHaveValue("0");
  await expect(page.getByLabel("Plan enterprise", { exact: true })).toHaveValue("3");
  expect(problems).toEqual([]);
});

test("the dashboard tells two topics with one label apart and dates what was last seen before today",
  async ({ page }) => {
    await page.goto(`${backend.url}/#token=${backend.api_token}`);
    const rows = page.locator("#topics tbody tr");
    // said as topics' ids: "#9001" beside the incident badges ("incident #3") read as an incident
    await expect(rows.filter({ hasText: "(topic 9001)" })).toHaveCount(1);
    await expect(rows.filter({ hasText: "(topic 9002)" })).toHaveCount(1);
    await expect(rows.filter({ hasText: "(#" })).toHaveCount(0);
    // the date as the incidents page writes it ("Nov 21, 2026, 04:57 PM"), never "11/21/2026, 4:57:02 PM"
    const older = rows.filter({ hasText: "(topic 9002)" }).locator("td").last();
    const expected = await page.evaluate(() => new Date(Date.now() - 2 * 86400_000)
      .toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" }));
    await expect(older).toContainText(expected);
    await expect(older).not.toHaveText(/\/|\d:\d{2}:\d{2}/);
    await expect(rows.filter({ hasText: "(topic 9001)" }).locator("td").last()).toHaveText(/^today \d{2}:\d{2}( [AP]M)?$/);
  });

test("a backfill's minute does not flatten the live minutes on the dashboard: it is drawn cut at the top",
  async ({ page }) => {
    await page.route("**/api/v1/status", async (route) => {
      const real = await (await route.fetch()).json();
      const minute = (i: number) => new Date(Date.now() - (60 - i) * 60_000).toISOString();
      const series = Array.from({ length: 60 }, (_, i) => ({ minute: minute(i), count: i === 30 ? 39000 : 150 + (i % 7) }));
      real.sources = [{ source: "zendesk", total: 48000, kinds: { "zendesk.ticket.created": 48000 }, series,
                        events_per_minute: { last_1m: 150, last_5m: 152, last_60m: 800 } }];
      await route.fulfill({ json: real });
    });
    await page.goto(`${backend.url}/#token=${backend.api_token}`);
    const chart = page.locator("#sources svg.chart").first();
    await expect(chart.locator("rect.bar.cut")).toHaveCount(1);
    await expect(chart).toHaveAttribute("aria-label", /peak 39,000 \(cut at [0-9,]+\)$/);
    const heights = await chart.locator("rect.bar:not(.cut)").evaluateAll(
      (rs) => rs.map((r) => Number(r.getAttribute("height"))));
    expect(heights).toHaveLength(59);
    expect(Math.min(...heights)).toBeGreaterThan(20);  // the ordinary minutes stay readable (the chart is 118 high)
  });
