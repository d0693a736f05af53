// The incidents page's detection settings in a real browser, against a real backend whose detector runs
// the backtest worker (the real embedding model): the stored settings in the form, a backtest of spikes
// turned off with its progress, the comparison (the week chart in weeks from Monday UTC, the dropped
// burst), a name typed as markup shown as text, and saving the settings; on a phone (390 px), the week
// chart's labels at 12 px and apart, its dates and counts in page.js's style, and the incidents stacked; a
// running backtest says how long it has taken and about how long it has to go; after a reload, "Use these
// settings" puts a finished run's settings back in the form; the in-app friction row saves the widget's.
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
  await expect(section.getByLabel("Spike", { exact: true })).toHaveValue("1");
  // in-app friction has its own row, with the widget's stored settings (their defaults here)
  await expect(section.getByLabel("False alarms a week, all pages together")).toHaveValue("1");
  await expect(section.getByLabel("Fewest sessions meeting it on a page")).toHaveValue("3");
  await expect(section.getByLabel("Fewest different customers behind a rise in tickets")).toHaveValue("3");

  // A value out of range is refused in the page, before any request.
  await section.getByLabel("Fewest different customers behind a rise in tickets").fill("1");
  await section.getByRole("button", { name: "Try these settings" }).click();
  await expect(page.locator("#tuning-message")).toContainText("Fewest different customers behind a rise in tickets");
  await section.getByRole("button", { name: "Back to the stored ones" }).click();

  await page.locator("#by").fill("Admin <b>Ada</b>");
  await section.getByLabel("Spike", { exact: true }).fill("0");
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
  await expect(run).toContainText("Backtest #1: spike off, plan enterprise × 3");
  await expect(run).toContainText("asked by Admin <b>Ada</b>"); // what people type is shown as text
  expect(await run.locator("b").count()).toBe(0);
  await expect(run.locator(".tuning-summary")).toBeVisible({ timeout: 90_000 });

  // Stored settings: the burst and maybe more; spikes off: no spike. The burst is a dropped row.
  await expect(run.locator(".tuning-summary")).toContainText("tickets and");
  await expect(run.locator(".tuning-summary")).toContainText(
    `${Number(backend.tickets).toLocaleString("en-US")} tickets`);
  // what the two settings differ by, in the table's words
  await expect(run.locator(".tuning-summary")).toContainText(/Against the stored settings these add 0 and drop [1-9]/);
  await expect(run.locator(".tuning-summary")).not.toContainText("more,");
  const dropped = run.locator("tr.in-current_only");
  expect(await dropped.count()).toBeGreaterThan(0);
  await expect(dropped.filter({ hasText: "Spike" }).first()).toContainText("not opened at the time");
  await expect(dropped.first().locator("td.where")).toHaveText("dropped");
  // every column is named, the first one too (it says what these settings do to the incident)
  expect(await run.locator("table.tuning-table th").allTextContents())
    .toEqual(["With these settings", "Incident", "Detected", "Customers", "People said"]);
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
  // The tickets begin nine days back, well into the 30 days asked for: the rates are over the days that
  // have tickets, the sentence says where they begin, and the chart has no empty weeks before them.
  const dataSince = Date.parse(done.result.data_since);
  expect(dataSince).toBeGreaterThan(Date.parse(done.result.since));
  await expect(run.locator(".tuning-summary")).toContainText(" (data only from ");
  const firstWeek = Date.parse(done.result.weekly[0].week_start);
  expect(dataSince).toBeGreaterThanOrEqual(firstWeek);
  expect(dataSince).toBeLessThan(firstWeek + 7 * 86400_000);
  const spike = done.result.incidents.find(
    (i: { kind: string; in: string }) => i.kind === "spike" && i.in === "current_only");
  const detected = new Date(spike.detected_at);
  const monday = new Date(Date.UTC(detected.getUTCFullYear(), detected.getUTCMonth(),
                                   detected.getUTCDate() - (detected.getUTCDay() + 6) % 7));
  // under the bars as month and day, in the bar's title in full as on the other pages ("Nov 9, 2026")
  const label = monday.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  const full = monday.toLocaleDateString("en-US", { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
  const west = await browser.newContext({ timezoneId: "America/Los_Angeles", locale: "en-US" });
  const reader = await west.newPage();
  await reader.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const chart = reader.locator("#tuning-run svg.tuning-chart");
  await expect(chart).toBeVisible();
  expect(await chart.locator("text").allTextContents()).toContain(label);
  for (const text of await chart.locator("text, title").allTextContents()) expect(text).not.toContain("/");
  const burst = chart.locator("rect.bar.current").filter({
    has: reader.locator("title", { hasText: `week from Monday ${full} (UTC)` }) });
  await expect(burst).toHaveCount(1);
  expect(Number(await burst.getAttribute("height"))).toBeGreaterThan(0);
  await expect(reader.locator("#tuning-run figcaption")).toContainText("weeks from Monday, UTC");
  await west.close();

  // After a reload the form shows the stored settings under the result: "Use these settings" puts the run's
  // back, so that saving saves what was tried.
  await page.reload();
  await expect(page.locator("#tuning-run .tuning-summary")).toBeVisible();
  await expect(run).toContainText("asked by Admin <b>Ada</b>. It took ");
  await expect(section.getByLabel("Spike", { exact: true })).toHaveValue("1");
  await expect(section.getByLabel("Plan enterprise", { exact: true })).toHaveCount(0);
  await run.getByRole("button", { name: "Use these settings" }).click();
  await expect(section.getByLabel("Spike", { exact: true })).toHaveValue("0");
  await expect(section.getByLabel("Plan enterprise", { exact: true })).toHaveValue("3");
  await expect(page.locator("#tuning-message")).toContainText("The form now holds backtest #1's settings");
  await expect(page.locator("#by")).toHaveValue("Admin <b>Ada</b>");  // the name is remembered

  // Saving sends the change (the friction row's through the widget settings); the form then shows the stored
  // (new) values.
  await section.getByLabel("Fewest sessions meeting it on a page").fill("5");
  await section.getByRole("button", { name: "Save settings" }).click();
  await expect(page.locator("#tuning-message")).toContainText(
    "Saved (spike off, plan enterprise × 3, in-app friction on at least 5 sessions)");
  const stored = await page.evaluate(async (token) => {
    const r = await fetch("/api/v1/settings/detection", { headers: { Authorization: `Bearer ${token}` } });
    return r.json();
  }, backend.api_token);
  expect(stored.sensitivity.spike).toBe(0);
  expect(stored.plan_sensitivity).toEqual({ enterprise: 3 });
  const widget = await (await page.request.get(`${backend.url}/api/v1/settings/widget`,
    { headers: { Authorization: `Bearer ${backend.api_token}` } })).json();
  expect(widget.friction).toEqual({ weekly_false_alarms: 1, min_sessions: 5, warmup_hours: 24 });

  // Reloading shows the last backtest again.
  await page.reload();
  await expect(page.locator("#tuning-run .tuning-summary")).toBeVisible();
  await expect(page.locator("#tune-kind-spike")).toHaveValue("0");
  await expect(page.getByLabel("Plan enterprise", { exact: true })).toHaveValue("3");
  await expect(page.getByLabel("Fewest sessions meeting it on a page")).toHaveValue("5");
  expect(problems).toEqual([]);
});

test("a running backtest says how long it has taken and about how long it has to go", async ({ page }) => {
  await page.route("**/api/v1/backtests", async (route) => {
    if (route.request().method() !== "GET") return route.fallback();
    await route.fulfill({ json: { backtests: [{ id: 77 }] } });
  });
  await page.route("**/api/v1/backtests/77", async (route) => {
    const started = new Date(Date.now() - 120_000).toISOString();
    await route.fulfill({ json: {
      id: 77, status: "running", since: started, settings: { friction: { min_sessions: 9 } }, requested_by: "Ada",
      created_at: started, started_at: started, finished_at: null, result: null, error: null,
      progress: { events_done: 16_000, events_total: 64_000, seconds_left: 300 } } });
  });
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const run = page.locator("#tuning-run");
  // the server's guess, the tickets and in-app events still to replay priced by kind: about five minutes
  await expect(run).toContainText("Replaying 16,000 of 64,000 events (25%)… (2 min so far, about 5 min to go)");
  await expect(run).toContainText("Backtest #77: in-app friction on at least 9 sessions");
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

test.describe("the detection settings on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 }, locale: "en-US" });

  test("the backtest's week chart keeps 12 px labels apart over 13 weeks, writes dates and counts one way, " +
       "and its incidents stack", async ({ page }) => {
    test.setTimeout(120_000);
    const auth = { headers: { Authorization: `Bearer ${backend.api_token}` } };
    // the run the first test made, or one made here when this test runs alone
    let listed = await (await page.request.get(`${backend.url}/api/v1/backtests`, auth)).json();
    if (!listed.backtests.length) {
      await page.request.post(`${backend.url}/api/v1/backtests`, { ...auth, data: { days: 30, settings: { sensitivity: { spike: 0 } } } });
      await expect.poll(async () => (await (await page.request.get(`${backend.url}/api/v1/backtests`, auth)).json())
        .backtests[0].status, { timeout: 90_000 }).toBe("done");
      listed = await (await page.request.get(`${backend.url}/api/v1/backtests`, auth)).json();
    }
    // A quarter's weeks (13), one of them with 1,500 incidents under the stored settings, and a dropped
    // incident with 1,200 customers: more dates than fit under the bars, and counts with separators.
    await page.route("**/api/v1/backtests/*", async (route) => {
      const run = await (await route.fetch()).json();
      if (run.result) {
        const real = run.result.weekly;
        const last = Date.parse(real[real.length - 1].week_start);
        run.result.weekly = Array.from({ length: 13 }, (_, i) => {
          const start = new Date(last - (12 - i) * 7 * 86400_000).toISOString();
          return real.find((w: { week_start: string }) => Date.parse(w.week_start) === Date.parse(start))
            ?? { week_start: start, current: i === 3 ? 1500 : 2, proposed: i === 3 ? 1400 : 1 };
        });
        run.result.since = run.result.data_since = run.result.weekly[0].week_start;
        run.result.current.count = 1500;
        const row = run.result.incidents.find((i: { in: string }) => i.in === "current_only");
        row.requester_count = 1200;
      }
      await route.fulfill({ json: run });
    });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const run = page.locator("#tuning-run");
    const chart = run.locator("svg.tuning-chart");
    await expect(chart).toBeVisible();

    // drawn at its box's width, not scaled: 12 px labels (scaled from 640 they were about 6 px), on the screen
    expect(Number(await chart.getAttribute("width"))).toBeLessThanOrEqual(390);
    expect(new Set(await chart.locator("text").evaluateAll((ts) => ts.map((t) => getComputedStyle(t).fontSize))))
      .toEqual(new Set(["12px"]));
    for (const b of await chart.locator("text").evaluateAll((ts) => ts.map((t) => t.getBoundingClientRect().toJSON()))) {
      expect(b.height).toBeGreaterThanOrEqual(11);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.right).toBeLessThanOrEqual(390);
    }
    // as many weeks' dates as fit, none touching, the latest week's always, as month and day
    const ticks = chart.locator("text[text-anchor=middle]");
    expect(await ticks.count()).toBeGreaterThanOrEqual(3);
    expect(await ticks.count()).toBeLessThan(13);
    const under = (await ticks.evaluateAll((ts) => ts.map((t) => t.getBoundingClientRect().toJSON())))
      .sort((a, b) => a.left - b.left);
    for (let i = 1; i < under.length; i++) expect(under[i].left).toBeGreaterThan(under[i - 1].right);
    const texts = await ticks.allTextContents();
    for (const t of texts) expect(t).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
    const lastWeek = await chart.locator("rect.bar.current title").last().textContent();
    expect(lastWeek).toMatch(/^week from Monday [A-Z][a-z]{2} \d{1,2}, \d{4} \(UTC\), so far: \d+ with the stored settings$/);
    expect(lastWeek).toContain(`Monday ${texts[0]}, `);  // the first drawn is the latest week's
    // counts with thousands separators: the scale's top, the busy week's title, the summary, the customers
    await expect(chart.locator("text:not([text-anchor])")).toHaveText("1,500");
    await expect(chart.locator("rect.bar.current title").nth(3))
      .toHaveText(/^week from Monday [A-Z][a-z]{2} \d{1,2}, \d{4} \(UTC\): 1,500 with the stored settings$/);
    await expect(run.locator(".tuning-summary")).toContainText("with the stored settings 1,500 incidents");

    // the incidents stack: every cell on the screen after its column's name, nothing to scroll sideways
    const table = run.locator("table.tuning-table");
    const row = table.locator("tr.in-current_only").filter({ hasText: "1,200" });
    await expect(row).toHaveCount(1);
    for (const cell of await row.locator("td").all()) {
      const b = (await cell.boundingBox())!;
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.x + b.width).toBeLessThanOrEqual(390);
    }
    await expect(row.locator("td.where")).toHaveAttribute("data-label", "With these settings");
    expect(await row.locator("td.where").evaluate((td) => [getComputedStyle(td).display,
      getComputedStyle(td, "::before").content !== "none"])).toEqual(["block", true]);
    expect(await table.evaluate((t) => t.scrollWidth <= t.clientWidth)).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    // a wider window draws the chart again at its new width, the table as it was
    await page.setViewportSize({ width: 1100, height: 844 });
    await expect.poll(async () => Number(await chart.getAttribute("width"))).toBe(640);
    await expect(row).toHaveCount(1);
  });
});
