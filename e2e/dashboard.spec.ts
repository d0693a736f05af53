// The live dashboard in a real browser against a backend holding open incidents (the incidents seed):
// it says what is going on now and which topics it is on, and explains its red bars; a picked topic's
// detail comes into view with the cursor on its heading; while the detector still reads the history the
// empty list says so; times and counts are written one way; on a phone (390 px) the topics stack and
// the incidents page's report chart keeps its labels readable and its accounts speak plainly.
import { test, expect, type Page } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;

// Times and counts are checked as page.js writes them in English ("Nov 23, 2026, 04:57 AM", "1,986").
test.use({ locale: "en-US" });

test.beforeAll(async () => { backend = await startBackend({ seed: "incidents" }); });
test.afterAll(async () => { await backend.stop(); });

test("the dashboard lists the active incidents and marks the topics they are on", async ({ page }) => {
  const headers = { Authorization: `Bearer ${backend.api_token}` };
  const active = await (await page.request.get(
    `${backend.url}/api/v1/incidents?status=open,acknowledged`, { headers })).json();
  expect(active.incidents.length).toBeGreaterThan(0);
  await page.goto(`${backend.url}/#token=${backend.api_token}`);
  const box = page.locator("#incidents-now");
  await expect(box).toBeVisible();
  const links = box.locator("li a");
  await expect(links).toHaveCount(active.incidents.length);
  const first = active.incidents[0];
  await expect(links.first()).toHaveText(`#${first.id} ${first.title}`);
  await expect(links.first()).toHaveAttribute("href", `/incidents#id=${first.id}`);

  const onTopic = active.incidents.find((i: { topic: { id: number } | null }) => i.topic);
  const badge = page.locator("#topics tr.has-incident a.topic-incident").first();
  const names: Record<string, string> = { spike: "Spike", new_topic: "New topic", drop: "Drop", sentiment: "Sentiment",
                                          concentration: "Concentration", friction: "In-app friction" };
  await expect(badge).toHaveText(`incident #${onTopic.id} (${names[onTopic.kind]})`);  // as the incidents page says it
  await badge.click();
  await expect(page).toHaveURL(new RegExp(`/incidents#id=${onTopic.id}$`));
  await expect(page.locator("#incident-detail h2")).toContainText(`(#${onTopic.id})`);
});

test("a chart with a minute above its scale says what the red bar is", async ({ page }) => {
  await page.route("**/api/v1/status", async (route) => {
    const real = await (await route.fetch()).json();
    const minute = (i: number) => new Date(Date.now() - (60 - i) * 60_000).toISOString();
    const series = Array.from({ length: 60 }, (_, i) => ({ minute: minute(i), count: i === 30 ? 39000 : 150 }));
    real.sources = [{ source: "zendesk", total: 48000, kinds: { "zendesk.ticket.created": 48000 }, series,
                      events_per_minute: { last_1m: 150, last_5m: 150, last_60m: 800 } },
                    { source: "widget", total: 600, kinds: { "widget.click": 600 },
                      series: series.map((p) => ({ ...p, count: 10 })),
                      events_per_minute: { last_1m: 10, last_5m: 10, last_60m: 10 } }];
    await route.fulfill({ json: real });
  });
  await page.goto(`${backend.url}/#token=${backend.api_token}`);
  const sections = page.locator("#sources section.source");
  await expect(sections).toHaveCount(2);
  await expect(sections.first().locator(".chart-note")).toContainText("Red: a minute above the chart's scale");
  await expect(sections.nth(1).locator(".chart-note")).toHaveCount(0);  // nothing cut: nothing to explain
});

// A moment as page.js writes it in English: "today 04:17 PM" for today, else "Nov 23, 2026, 04:57 AM";
// never with seconds, never "11/23/2026".
const MOMENT = /^(today \d{2}:\d{2} [AP]M|[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2} [AP]M)$/;

test("on a phone, picking a topic brings its detail into view, the cursor on its heading, named as a topic",
  async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${backend.url}/#token=${backend.api_token}`);
    const link = page.locator("#topics tbody tr a:not(.topic-incident)").first();
    await expect(link).toBeVisible();
    await link.click();
    const heading = page.locator("#topic-detail h3");
    await expect(heading).toBeFocused();
    await expect(heading).toBeInViewport();
    await expect(heading).toHaveText(/ \(topic \d+\)$/);  // a topic's id, not "#4" beside "incident #3"
    await expect(heading).not.toContainText("#");
    await expect(page.locator("#topic-detail")).toHaveAttribute("aria-labelledby", "topic-detail-heading");
    // the name field says who else reads the name: customers, in the known-issue banner
    await expect(page.getByRole("textbox", { name: "Topic name" })).toHaveAccessibleDescription(
      "Customers see this name in your product's known-issue banner, on the pages an open incident on this topic " +
      "affects. Leave it empty to go back to the keyword label.");

    // the topics stack: every cell within the screen, each saying its column, nothing to scroll sideways
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const seen = page.locator("#topics tbody tr").first().locator("td").last();
    await expect(seen).toHaveAttribute("data-label", "Last seen");
    const box = (await seen.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    expect(await seen.evaluate((e) => getComputedStyle(e, "::before").content)).toBe('"Last seen: "');
  });

test("while the detector still reads the history, the empty incidents list says so, then that nothing is unusual",
  async ({ page }) => {
    let pending = 1986;
    await page.route("**/api/v1/status", async (route) => {
      const real = await (await route.fetch()).json();
      real.detector = { ...real.detector, pending_events: pending, lag_seconds: pending ? 340 : 0 };
      // a tenant with tickets and the in-app widget: its history holds both, whichever is still to read
      const quiet = (source: string) => ({ source, total: 500, kinds: {}, series: [],
                                           events_per_minute: { last_1m: 0, last_5m: 0, last_60m: 0 } });
      real.sources = [quiet("widget"), quiet("zendesk")];
      await route.fulfill({ json: real });
    });
    await page.route("**/api/v1/incidents?*", (route) => route.fulfill({ json: { incidents: [], total: 0 } }));
    await page.goto(`${backend.url}/#token=${backend.api_token}`);
    const list = page.locator("#incidents-now-list");
    await expect(list).toHaveText("None yet: the detector is still reading the history of tickets and in-app events " +
                                  "(1,986 events to go). Incidents appear here a few minutes after it has caught up.");
    await expect(page.locator("#detector .card.warn .value").first()).toHaveText("1,986");
    pending = 0;  // caught up: the next status poll (every 2 s) changes the line
    await expect(list).toHaveText("None: nothing unusual right now.");
  });

test("counts carry thousands separators and times read to the minute, one way", async ({ page }) => {
  await page.route("**/api/v1/status", async (route) => {
    const real = await (await route.fetch()).json();
    const minute = (i: number) => new Date(Date.now() - (60 - i) * 60_000).toISOString();
    real.sources = [{ source: "zendesk", total: 48000, kinds: { "zendesk.ticket.created": 46321 },
                      series: Array.from({ length: 60 }, (_, i) => ({ minute: minute(i), count: 1200 + i })),
                      events_per_minute: { last_1m: 1259, last_5m: 1257, last_60m: 1229.5 } }];
    real.detector = { ...real.detector, pending_events: 4068, lag_seconds: 0.2 };
    await route.fulfill({ json: real });
  });
  await page.route("**/api/v1/topics?*", async (route) => {
    const real = await (await route.fetch()).json();
    real.topics[0].size = 2321;
    await route.fulfill({ json: real });
  });
  await page.goto(`${backend.url}/#token=${backend.api_token}`);
  await expect(page.locator("#detector .card").nth(2).locator(".value")).toHaveText("4,068");
  await expect(page.locator("#sources .kinds")).toHaveText("zendesk.ticket.created 46,321");
  // the hour's first minute: "today 10:05 PM", or yesterday's date in full in the first hour after midnight
  const first = new Date(Date.now() - 60 * 60_000);
  await expect(page.locator("#sources svg.chart title").first()).toHaveText(
    first.toDateString() === new Date().toDateString() ? /^today \d{2}:\d{2} [AP]M: 1,200$/
      : /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2} [AP]M: 1,200$/);
  await expect(page.locator("#topics tbody tr").first().locator("td").nth(1)).toHaveText("2,321");
  await expect(page.locator("#topics tbody tr").first().locator("td").last()).toHaveText(MOMENT);
  const detected = await page.locator("#incidents-now-list li .hint").allTextContents();
  expect(detected.length).toBeGreaterThan(0);
  for (const line of detected) expect(line.replace(/^ · \w+ · detected /, "")).toMatch(MOMENT);
});

test("events received and processed are told apart, and a source's counters add up its chart's bars",
  async ({ page }) => {
    // The demo's first minutes: 1,077 events read by the detector, all received this minute, 2,424 still waiting
    // (the API's rates cover whole minutes before this one: 0).
    await page.route("**/api/v1/status", async (route) => {
      const real = await (await route.fetch()).json();
      const minute = (i: number) => new Date(Date.now() - (59 - i) * 60_000).toISOString();
      real.sources = [{ source: "zendesk", total: 1077, kinds: { "zendesk.ticket.created": 1077 },
                        series: Array.from({ length: 60 }, (_, i) => ({ minute: minute(i), count: i === 59 ? 1077 : 0 })),
                        events_per_minute: { last_1m: 0, last_5m: 0, last_60m: 0 } }];
      real.detector = { ...real.detector, pending_events: 2424, lag_seconds: 95 };
      await route.fulfill({ json: real });
    });
    await page.goto(`${backend.url}/#token=${backend.api_token}`);
    const cards = async (box: string) => Object.fromEntries(await page.locator(`${box} .card`).evaluateAll((cs) =>
      cs.map((c) => [c.querySelector(".label")!.textContent, c.querySelector(".value")!.textContent])));
    await expect(page.locator("#sources .card")).toHaveCount(4);
    expect(await cards("#detector")).toMatchObject(
      { "Events received": "3,501", "Processed": "1,077", "Detector pending": "2,424" });
    expect(await cards("#sources")).toEqual({ "Events processed": "1,077", "This minute so far": "1,077",
                                              "Last 5 min": "1,077", "Last hour": "1,077" });
    await expect(page.locator("#sources svg.chart rect.bar").last().locator("title")).toHaveText(/: 1,077$/);
  });

/** The status as the server says it, with an hour of widget events, ten a minute (the events chart's data). */
async function widgetEveryMinute(page: Page): Promise<void> {
  await page.route("**/api/v1/status", async (route) => {
    const real = await (await route.fetch()).json();
    const minute = (i: number) => new Date(Date.now() - (60 - i) * 60_000).toISOString();
    real.sources = [{ source: "widget", total: 600, kinds: { "widget.click": 600 },
                      series: Array.from({ length: 60 }, (_, i) => ({ minute: minute(i), count: 10 })),
                      events_per_minute: { last_1m: 10, last_5m: 10, last_60m: 10 } }];
    await route.fulfill({ json: real });
  });
}

test("the dashboard's events chart keeps 12 px labels on a phone", async ({ page }) => {
  await widgetEveryMinute(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${backend.url}/#token=${backend.api_token}`);
  const labels = page.locator("#sources svg.chart text");
  await expect(labels).toHaveCount(4);
  for (const box of await labels.evaluateAll((ts) => ts.map((t) => t.getBoundingClientRect().toJSON()))) {
    expect(box.height).toBeGreaterThanOrEqual(11);  // scaled to the phone, they were about 6 px
    expect(box.right).toBeLessThanOrEqual(390);
  }
});

test("on a wide screen the events chart takes its card's width, \"now\" at the card's right edge", async ({ page }) => {
  await widgetEveryMinute(page);
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto(`${backend.url}/#token=${backend.api_token}`);
  const chart = page.locator("#sources svg.chart");
  await expect(chart).toBeVisible();
  const box = await page.locator("#sources section.source").first().evaluate((sec) => {
    const style = getComputedStyle(sec), r = sec.getBoundingClientRect();
    const svg = sec.querySelector("svg.chart")!.getBoundingClientRect();
    const now = [...sec.querySelectorAll("svg.chart text")].find((t) => t.textContent === "now")!.getBoundingClientRect();
    return { inner: r.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth), svg: svg.toJSON(),
             now: now.toJSON(), texts: [...sec.querySelectorAll("svg.chart text")].map((t) => t.getBoundingClientRect().height) };
  });
  expect(box.svg.right).toBeGreaterThan(box.inner - 4);
  expect(box.svg.right).toBeLessThanOrEqual(box.inner + 0.5);
  expect(box.now.right).toBeGreaterThan(box.inner - 4);
  for (const h of box.texts) expect(h).toBeLessThan(18);  // drawn at its width: 12 px labels, not stretched
});

test.describe("the incidents page's report and accounts on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("how detection went keeps its week labels readable and apart at 390 px, over 4 weeks and 52",
    async ({ page }) => {
      await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
      const report = page.locator("#report");
      const chart = report.locator("svg.report-chart");
      await expect(chart).toBeVisible();
      // Measured in one step in the page: the chart is drawn again when the answer arrives and when its box
      // settles, and boxes measured on a chart already replaced are all zero.
      const measure = () => page.evaluate(() => Array.from(document.querySelectorAll("#report svg.report-chart text"))
        .map((t) => ({ middle: t.getAttribute("text-anchor") === "middle", ...t.getBoundingClientRect().toJSON() })));
      for (const weeks of ["4", "52"]) {
        await page.locator("#report-weeks").selectOption(weeks);
        // the picked period's answer is in (its sentence starts on the Monday weeks - 1 before this week's)
        const monday = new Date();
        monday.setUTCHours(0, 0, 0, 0);
        monday.setUTCDate(monday.getUTCDate() - (monday.getUTCDay() + 6) % 7 - 7 * (Number(weeks) - 1));
        await expect(report.locator("p.hint").last()).toContainText("from Monday " + monday.toLocaleDateString(
          "en-US", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" }) + " (");
        await expect(chart.locator("rect.bar.unrated")).toHaveCount(1);
        const ticks = chart.locator("text[text-anchor=middle]");
        await expect.poll(async () => (await measure()).every((b) => b.height >= 11)).toBe(true);
        const boxes = await measure();
        expect(boxes.filter((b) => b.middle).length).toBeGreaterThanOrEqual(weeks === "4" ? 4 : 3);
        for (const b of boxes) {
          expect(b.height).toBeGreaterThanOrEqual(11);  // 12 px text; scaled down it was about 5 px
          expect(b.left).toBeGreaterThanOrEqual(0);
          expect(b.right).toBeLessThanOrEqual(390);
        }
        const under = boxes.filter((b) => b.middle).sort((a, b) => a.left - b.left);
        for (let i = 1; i < under.length; i++) expect(under[i].left).toBeGreaterThan(under[i - 1].right);
        // a week's label is its Monday as month and day; its bar's title names the week in full
        expect(await ticks.last().textContent()).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
        await expect(chart.locator("rect.bar.unrated title"))
          .toHaveText(/^week from Monday [A-Z][a-z]{2} \d{1,2}, \d{4}: 2 not rated of 2$/);
      }
      // the period's sentence writes both ends in one style
      await expect(report.locator("p.hint").last()).toHaveText(
        /^Incidents detected from Monday [A-Z][a-z]{2} \d{1,2}, \d{4} \(00:00 UTC, the weeks' start\) to [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2} [AP]M\. /);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    });

  test("accounts that changed: plain words, the figures kept in titles and a details element, rows stacked",
    async ({ page }) => {
      await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
      const section = page.locator("#accounts");
      const rows = section.locator("tr.account-row");
      await expect(rows.first()).toBeVisible();
      for (const jargon of ["beside the rest of the tenant", "false-discovery", "q:", "< 0.001", "Past windows"]) {
        await expect(section.locator("#accounts-body")).not.toContainText(jargon);
      }
      await expect(section).toContainText("The last day, compared with the same weekday in up to 8 weeks before. " +
                                          "Each account is compared with its own past, allowing for how busy all your customers were");
      const kestrel = rows.filter({ hasText: "Kestrel" });
      const sure = kestrel.locator("td.sureness");
      await expect(sure).toHaveText(/^(almost certain|very likely|likely)$/);
      await expect(sure).toHaveAttribute("title", /^q-value (below 0\.001|0\.0\d\d): /);
      const how = section.locator("details.accounts-how");
      await how.locator("summary").click();
      await expect(how).toContainText("at least 1.5 times the expected count or at most 66.7% of it");
      await expect(how).toContainText("no more than 5% are expected to be false alarms");
      // stacked on the phone: every cell on the screen, nothing to scroll sideways
      for (const cell of await kestrel.locator("th, td").all()) {
        const b = (await cell.boundingBox())!;
        expect(b.x + b.width).toBeLessThanOrEqual(390);
      }
      expect(await section.locator("table.accounts").evaluate((t) => t.scrollWidth <= t.clientWidth)).toBe(true);
    });
});

test("the dashboard and the incidents page run under their Content-Security-Policy with nothing refused",
  async ({ page }) => {
    const refused: string[] = [];
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) refused.push(m.text()); });
    page.on("pageerror", (e) => refused.push(String(e)));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => {
        console.error(`Content Security Policy: ${e.violatedDirective} refused ${e.blockedURI}`);
      });
    });
    const dashboard = await page.goto(`${backend.url}/#token=${backend.api_token}`);
    expect(dashboard?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    await expect(page.locator("#incidents-now li a").first()).toBeVisible();
    const incidents = await page.goto(`${backend.url}/incidents`);
    expect(incidents?.headers()["content-security-policy"]).toContain("script-src 'self'");
    const card = page.locator("button.incident-item").first();
    await expect(card).toBeVisible();
    await card.click();
    await expect(page.locator("#incident-detail svg.incident-chart")).toBeVisible();
    expect(refused).toEqual([]);
  });
