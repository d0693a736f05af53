// The server's incidents page in a real browser, against a real backend holding open incidents written by
// the detector's writers (the incidents seed): list, detail with its chart and evidence, a status change, and a
// friction incident whose page's signals are one incident.
import { test, expect, type Locator, type Page } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;

test.beforeAll(async () => {
  // private addresses allowed, so that a webhook can be pointed at loopback
  backend = await startBackend({ seed: "incidents", settings: { WEBHOOK_ALLOW_PRIVATE: "1" } });
});

test.afterAll(async () => { await backend.stop(); });

interface Box { text: string; left: number; right: number; top: number; bottom: number; width: number; height: number }

/** Where the incident chart's parts are on the page: the SVG, its marker and hour labels, every text, the bars.
 *  (Read from the detail at once: a refresh may draw the detail again, leaving an earlier chart detached.) */
async function chartLayout(detail: Locator) {
  await expect(detail.locator("svg.incident-chart")).toBeVisible();
  return detail.evaluate((d) => {
    const chart = d.querySelector("svg.incident-chart")!;
    const box = (e: Element): Box => {
      const r = e.getBoundingClientRect();
      return { text: e.textContent ?? "", left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
               height: r.height };
    };
    const all = (selector: string) => [...chart.querySelectorAll(selector)].map(box);
    return { svg: box(chart), markers: all("text.marker"), hours: all("text.hour"), texts: all("text"),
             ticks: all("line.tick"), bars: all("rect.bar"), open: box(chart.querySelector("rect.bar.partial")!),
             span: all("rect.incident-span") };
  });
}

const overlap = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const inside = (a: Box, outer: Box) =>
  a.left >= outer.left - 0.5 && a.right <= outer.right + 0.5 && a.top >= outer.top - 0.5 && a.bottom <= outer.bottom + 0.5;

/** Labels that can be read: each whole inside the chart, none over another, none over a bar. */
function expectReadable(layout: Awaited<ReturnType<typeof chartLayout>>) {
  for (const label of [...layout.markers, ...layout.hours]) expect(inside(label, layout.svg), label.text).toBe(true);
  for (const group of [layout.markers, layout.hours]) {
    group.forEach((a, i) => group.slice(i + 1).forEach((b) => expect(overlap(a, b), `${a.text} / ${b.text}`).toBe(false)));
  }
  for (const m of layout.markers) {
    for (const bar of layout.bars) expect(overlap(m, bar), `${m.text} over a bar`).toBe(false);
  }
}

test("an open incident: its card, its chart ending in the hour so far, its evidence as text, and acknowledging it",
  async ({ page }) => {
    const problems: string[] = [];
    page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("dialog", (d) => { problems.push("dialog: " + d.message()); void d.dismiss(); });

    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const card = page.locator(`button.incident-item[data-id="${backend.incident_id}"]`);
    await expect(card).toBeVisible();
    await card.click();
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${backend.incident_id})`);

    // The chart's last bar is the open hour, outlined, and the legend says so; closed hours are plain bars.
    const bars = detail.locator("svg.incident-chart rect.bar");
    expect(await bars.count()).toBeGreaterThan(40);
    await expect(detail.locator("svg.incident-chart rect.bar.partial")).toHaveCount(1);
    await expect(bars.last()).toHaveClass(/\bpartial\b/);
    await expect(bars.last().locator("title")).toContainText("this hour so far");
    await expect(detail.locator(".legend")).toContainText("this hour so far");
    // Its markers are labelled apart, above the bars and inside the chart (and named in the legend); the hours
    // along the bottom are a few, in the reader's words without seconds, none past now (the open hour's end is
    // to come).
    const layout = await chartLayout(detail);
    expect(layout.markers.map((m) => m.text).sort()).toEqual(["detected", "first seen"]);
    expect(layout.hours.length).toBeGreaterThanOrEqual(3);
    for (const h of layout.hours) expect(h.text).not.toMatch(/\d:\d\d:\d\d|\d{4}/);
    expectReadable(layout);
    expect(Math.max(...layout.ticks.map((t) => t.left))).toBeLessThan(layout.open.right - 1);
    await expect(detail.locator(".legend")).toContainText(/first seen .+detected /);
    // the incident's own hours are shaded, from its first seen to now (the hour so far included), and named
    expect(layout.span).toHaveLength(1);
    expect(layout.span[0].left).toBeLessThanOrEqual(layout.open.left + 1);
    expect(layout.span[0].right).toBeGreaterThanOrEqual(layout.open.right - 1);
    await expect(detail.locator(".legend")).toContainText("this incident");

    // The evidence in words, the exact figures beside them as a hint and a title.
    const term = (name: string) => detail.locator("dt", { hasText: new RegExp(`^${name}$`) })
      .locator("xpath=following-sibling::dd[1]");
    await expect(term("How unusual")).toHaveText("Very unlikely by chance: about 1 in 5 million (p-value 2.00e-7, surprise 6.7)");
    await expect(term("How unusual").locator("span").first()).toHaveAttribute("title", /^p-value 2\.00e-7, surprise 6\.7 /);
    await expect(term("Where")).toHaveText(/^this topic \(.+\)$/);
    await expect(term("Where").locator("span")).toHaveAttribute("title", /^series topic:\d+$/);
    // Each figure says what it counts and over which window; the chart beside it says it counts per hour.
    await expect(term("Observed")).toHaveText(/^\d+ customers in its most unusual 2 h$/);
    await expect(term("Expected")).toHaveText(/^[0-9.]+ customers in those 2 h; usual range \d+–\d+$/);
    await expect(detail.locator(".legend")).toContainText("usual range of customers per hour");
    await expect(detail.locator(".legend")).toContainText("expected customers per hour");
    await expect(detail.locator(".chart-note")).toContainText("an incident opens only when a rise passes this " +
      "tenant's alarm threshold");
    await expect(detail.locator(".chart-note")).toContainText("The evidence counts customers in its most unusual 2 h, " +
      "not per hour.");
    await expect(detail.locator("dt", { hasText: /^(p-value|Series)$/ })).toHaveCount(0);

    // Claude's summary is labelled as the model's and shown as text.
    await expect(detail.locator("p.llm-summary"))
      .toHaveText("Summary by Claude: Customers get a blank invoice PDF <b>since</b> the release.");
    expect(await detail.locator("p.llm-summary b").count()).toBe(0);

    // A representative ticket whose text is markup is shown as that text.
    await expect(detail.getByText("<img src=x onerror=alert(1)>").first()).toBeVisible();
    expect(await page.locator("#incident-detail img").count()).toBe(0);

    // Each ticket opens in the tenant's Zendesk, in a new tab, from the list of tickets and from a
    // representative's number.
    const first = detail.locator(".ticket-ids a").first();
    await expect(first).toHaveAttribute("href", /^https:\/\/acme\.zendesk\.com\/agent\/tickets\/[0-9]+$/);
    await expect(first).toHaveAttribute("target", "_blank");
    await expect(first).toHaveAttribute("rel", "noopener noreferrer");
    await expect(detail.locator(".representatives a").first())
      .toHaveAttribute("href", /^https:\/\/acme\.zendesk\.com\/agent\/tickets\/[0-9]+$/);
    await expect(detail.locator(".agent-page")).toHaveCount(0);

    // The organizations its tickets came from, each opening in Zendesk.
    await expect(detail.locator("h3", { hasText: "Accounts affected (" })).toBeVisible();
    const org = detail.locator("ul.accounts-affected li").first();
    await expect(org.locator("a")).toHaveAttribute("href", /^https:\/\/acme\.zendesk\.com\/agent\/organizations\/[0-9]+$/);
    await expect(org).toContainText(/: [0-9]+ tickets? from [0-9]+ (person|people), first /);

    // What was sent about it: Slack got it, a webhook (whose description is markup, shown as text) did not, said
    // in the alerts section's words rather than the server's codes.
    const notes = detail.locator("ul.notifications li");
    await expect(notes).toHaveCount(1);
    await expect(notes.first()).toContainText("opened");
    await expect(notes.first().locator(".note-target.state-delivered")).toHaveText("Slack: sent");
    await expect(notes.first().locator(".note-target.state-failed"))
      .toHaveText("webhook #1 (ops <b>bridge</b>): failed (the receiver answered HTTP 503; gave up after 8 attempts)");

    // A status change needs a name, then goes through the API.
    await detail.getByRole("button", { name: "Acknowledge" }).click();
    await expect(detail.locator(".detail-error")).toContainText("Enter your name first");
    await page.locator("#by").fill("Ana");
    await detail.getByRole("button", { name: "Acknowledge" }).click();
    await expect(card.locator(".item-head")).toContainText("acknowledged");
    const stored = await (await page.request.get(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
      { headers: { Authorization: `Bearer ${backend.api_token}` } })).json();
    expect(stored.status).toBe("acknowledged");
    expect(stored.status_by).toBe("Ana");
    // Its history: the rise, the detection, then Ana's acknowledgement.
    const history = detail.locator("ol.history li");
    await expect(history.first()).toContainText("First ticket of the rise");
    await expect(history.last()).toContainText("Acknowledged by Ana");

    expect(problems).toEqual([]);
  });

test("on a phone the chart's text stays legible, its labels apart, and the open hour a bar you can see",
  async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.incident_id}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${backend.incident_id})`);
    const layout = await chartLayout(detail);
    expect(layout.svg.right).toBeLessThanOrEqual(390);
    // 12 px text (its box about 14 px high), not a 760-wide drawing shrunk to 4 px letters
    for (const t of layout.texts) expect(t.height, t.text).toBeGreaterThanOrEqual(11);
    expect(layout.markers).toHaveLength(2);
    expect(layout.hours.length).toBeGreaterThanOrEqual(2);
    expectReadable(layout);
    expect(layout.open.width).toBeGreaterThanOrEqual(10);
  });

test("on a phone the evidence puts each label above its value, at the detail's width, a long path wrapped at its slashes",
  async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    const path = "/demo/acme/billing/invoices/downloads/monthly-statements/2026";
    await page.route((url) => url.pathname === `/api/v1/incidents/${backend.friction_incident_id}`, async (route) => {
      const body = await (await route.fetch()).json();
      body.evidence.path = path;
      await route.fulfill({ json: body });
    });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.friction_incident_id}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${backend.friction_incident_id})`);
    const dd = detail.locator("dt", { hasText: /^Page$/ }).locator("xpath=following-sibling::dd[1]");
    await expect(dd).toContainText(path);
    const layout = await detail.locator("dl.evidence").evaluate((dl) => {
      const pairs = [...dl.querySelectorAll(":scope > dt")].map((dt) => {
        const a = dt.getBoundingClientRect(), b = dt.nextElementSibling!.getBoundingClientRect();
        return { name: dt.textContent, dtLeft: a.left, dtBottom: a.bottom, ddLeft: b.left, ddTop: b.top, ddWidth: b.width };
      });
      return { width: dl.getBoundingClientRect().width, pairs };
    });
    expect(layout.width).toBeGreaterThan(300);
    for (const p of layout.pairs) {
      expect(p.ddTop, `${p.name}: its value below it`).toBeGreaterThanOrEqual(p.dtBottom - 0.5);
      expect(Math.abs(p.ddLeft - p.dtLeft), `${p.name}: its value under it`).toBeLessThan(1);
      expect(p.ddWidth, `${p.name}: its value the list's width`).toBeGreaterThan(layout.width - 1);
    }
    // Where the Page line wraps: after a slash or a space, never inside a word of the path.
    const breaks = await dd.evaluate((e) => {
      const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
      const chars: { c: string; top: number }[] = [];
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        for (let i = 0; i < n.textContent!.length; i++) {
          const r = document.createRange();
          r.setStart(n, i);
          r.setEnd(n, i + 1);
          const rect = r.getClientRects()[0];
          if (rect) chars.push({ c: n.textContent![i], top: rect.top });
        }
      }
      return chars.flatMap((x, i) => (i && x.top > chars[i - 1].top + 2 ? [chars[i - 1].c + x.c] : []));
    });
    expect(breaks.length).toBeGreaterThan(0);
    for (const b of breaks) expect(b, "a line ends after a slash or a space").toMatch(/^[/ ]/);
  });

test("on a phone, the second of three cards tapped in the middle of the screen brings its detail into view",
  async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    // a third card after the seed's two, so that the detail under the list starts low on the screen
    await page.route((url) => url.pathname === "/api/v1/incidents" && url.searchParams.get("limit") === "100",
      async (route) => {
        const body = await (await route.fetch()).json();
        body.incidents.push({ ...body.incidents[0], id: 9999, title: "Another incident" });
        await route.fulfill({ json: body });
      });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const cards = page.locator("button.incident-item");
    await expect(cards).toHaveCount(3);
    const second = cards.nth(1);
    const id = await second.getAttribute("data-id");
    await second.evaluate((e) => e.scrollIntoView({ block: "center" }));
    await second.click();
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${id})`);
    await expect(detail).toBeFocused();
    // its top in the upper part of the screen, not a strip at the bottom under the cards
    await expect.poll(() => detail.evaluate((e) => e.getBoundingClientRect().top)).toBeGreaterThanOrEqual(-1);
    await expect.poll(() => detail.evaluate((e) => e.getBoundingClientRect().top)).toBeLessThan(844 * 0.4);
  });

test("on a phone the merge picker fits the screen, however long the other incidents' titles", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  // another active incident of the same family, whose title makes the picker's option long
  await page.route((url) => url.pathname === "/api/v1/incidents" && url.searchParams.get("limit") === "200",
    async (route) => {
      const body = await (await route.fetch()).json();
      const mine = body.incidents.find((i: { id: number }) => i.id === backend.incident_id);
      body.incidents.push({ ...mine, id: 9999, title: "Spike in “Invoice PDF downloads are blank after the March " +
                                                      "release for customers on the annual plan”" });
      await route.fulfill({ json: body });
    });
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.incident_id}`);
  const into = page.locator("#incident-detail #merge-into");
  await expect(into.locator('option[value="9999"]')).toHaveCount(1);
  await expect(into).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  expect((await into.boundingBox())!.x + (await into.boundingBox())!.width).toBeLessThanOrEqual(390);
});

test("a friction incident: one card for the page, its chart of the page's failures, every signal in its evidence",
  async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));

  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const cards = page.locator("button.incident-item", { hasText: "/invoices" });
  await expect(cards).toHaveCount(1);
  const card = page.locator(`button.incident-item[data-id="${backend.friction_incident_id}"]`);
  // The signal that crossed first names it; the other joined it.
  await expect(card).toContainText(/(Failed requests and rage clicks|Rage clicks and failed requests) on \/invoices/);
  await expect(card.locator(".item-meta")).toContainText(/^\d+ sessions · 0 signed-in users · first seen /);
  await card.click();
  const detail = page.locator("#incident-detail");
  await expect(detail.locator("h2")).toContainText(`(#${backend.friction_incident_id})`);
  // its series, as people say it, on the button that mutes it
  await expect(detail.getByRole("button", { name: /^Everything on \/invoices \((failed requests|rage clicks)\)$/ }))
    .toBeVisible();
  await expect(detail.locator("dd", { hasText: /^\/invoices · \d+ sessions, 0 signed-in users$/ })).toBeVisible();
  await expect(detail.locator("dt", { hasText: /^(Customers|Accounts|Tickets)$/ })).toHaveCount(0);
  // Its figures are of an hour; judged per visitor, the expectation is from that hour's visitors, and while the
  // hour is open, from its visitors so far (said so in both, never an hour's "usually").
  const term = (name: string) => detail.locator("dt", { hasText: new RegExp(`^${name}$`) })
    .locator("xpath=following-sibling::dd[1]");
  await expect(term("Observed")).toHaveText(/^\d+ (failed requests|rage clicks) in the hour from \d\d:\d\d( [AP]M)?( so far)?$/);
  await expect(term("Expected")).toHaveText(
    /^[\d.]+ (failed requests|rage clicks) (from the hour's \d+ visitors? so far|from that hour's \d+ visitors?|in that hour)$/);
  const open = (await term("Observed").textContent())!.endsWith(" so far");
  expect((await term("Expected").textContent())!.endsWith(" so far")).toBe(open);
  const signals = detail.locator("dt", { hasText: "Signals" }).locator("xpath=following-sibling::dd[1]").locator("li");
  await expect(signals).toHaveCount(2);
  const worst = (noun: string) =>
    new RegExp(`^${noun}: \\d+ in its worst hour(, usually \\d| so far, [\\d.]+ expected from its \\d+ visitors? so far$)`);
  await expect(signals.filter({ hasText: worst("failed request") })).toHaveCount(1);
  await expect(signals.filter({ hasText: worst("rage click") })).toHaveCount(1);
  // How unusual, in words; a tail beyond a double's range reads as a bound, never as a p-value of 0.
  const pValue = detail.locator("dt", { hasText: "How unusual" }).locator("xpath=following-sibling::dd[1]");
  await expect(pValue).toHaveText(new RegExp("^(Far beyond chance: less than 1 in 10³⁰⁰ \\(p-value < 1e-300, surprise > 300\\)|" +
    "[A-Z][a-z ]+ chance: about 1 in [0-9.,]+( million| billion)?[⁰¹²³⁴⁵⁶⁷⁸⁹]* \\(p-value \\d\\S*, surprise \\d+(\\.\\d+)?\\))$"));
  await expect(pValue).not.toHaveText(/p-value 0\b/);
  await expect(detail.locator("dt", { hasText: "Where" }).locator("xpath=following-sibling::dd[1]"))
    .toHaveText(/^\/\S*invoices \((failed requests|rage clicks)\)$/);

  // Its chart counts the page's events of the signal that opened it: the hours before it, then this hour so far,
  // above the band.
  const bars = detail.locator("svg.incident-chart rect.bar");
  expect(await bars.count()).toBeGreaterThan(20);
  await expect(bars.last()).toHaveClass(/\bpartial\b/);
  await expect(bars.last()).toHaveClass(/\bover\b/);
  await expect(bars.last().locator("title")).toContainText(/this hour so far.*: \d+ (failed requests|rage clicks), \d+ sessions/);
  await expect(detail.locator(".legend")).toContainText(/(failed requests|rage clicks) per hour/);
  await expect(detail.locator(".legend")).toContainText("sessions per hour");

  // The ticket incident whose requesters met this friction is related; its link opens it.
  const related = detail.locator("ul.related li");
  await expect(related).toHaveCount(1);
  await expect(related).toContainText(`#${backend.incident_id}`);
  await expect(related).toContainText("/invoices");
  await related.locator("button").click();
  await expect(detail.locator("h2")).toContainText(`(#${backend.incident_id})`);
  await expect(detail.locator("ul.related li button")).toContainText(`#${backend.friction_incident_id}`);
  expect(problems).toEqual([]);
});

test("muting an incident's notifications for a while, and unmuting it", async ({ page }) => {
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  await page.locator(`button.incident-item[data-id="${backend.incident_id}"]`).click();
  const detail = page.locator("#incident-detail");
  await expect(detail.locator("h2")).toContainText(`(#${backend.incident_id})`);
  await page.locator("#by").fill("Ana");
  await detail.locator("#mute-hours").selectOption("24");
  await detail.getByRole("button", { name: "This incident" }).click();
  await expect(detail.locator(".mute .muted-line")).toContainText("Notifications muted for this incident until");
  await expect(detail.locator(".mute .muted-line")).toContainText("by Ana");
  const headers = { Authorization: `Bearer ${backend.api_token}` };
  const mutes = (await (await page.request.get(`${backend.url}/api/v1/mutes`, { headers })).json()).mutes;
  expect(mutes).toHaveLength(1);
  expect(mutes[0].incident_id).toBe(backend.incident_id);
  const hours = (Date.parse(mutes[0].until) - Date.parse(mutes[0].created_at)) / 3600000;
  expect(Math.round(hours)).toBe(24);

  await detail.getByRole("button", { name: "Unmute" }).click();
  await expect(detail.getByRole("button", { name: "This incident" })).toBeVisible();
  expect((await (await page.request.get(`${backend.url}/api/v1/mutes`, { headers })).json()).mutes).toEqual([]);
  expect(problems).toEqual([]);
});

test("where alerts go: the webhooks with their last delivery, adding one, testing it and removing it",
  async ({ page }) => {
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("dialog", (d) => { problems.push("dialog: " + d.message()); void d.dismiss(); });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const alerts = page.locator("#alerts");
    await expect(alerts).toBeVisible();
    await expect(alerts.locator("#alerts-slack")).toHaveText(/^Slack: off/);
    const seeded = alerts.locator("tr.webhook-row").first();
    await expect(seeded.locator("th")).toContainText("https://ops.example.com/hook");
    await expect(seeded.locator("th .hint")).toHaveText("ops <b>bridge</b>");  // markup shown as text
    await expect(seeded.locator(".last-delivery")).toContainText("failed opened of #");
    await expect(seeded.locator(".last-delivery")).toContainText(": the receiver answered HTTP 503; gave up after 8 attempts");

    await alerts.locator("#webhook-target").fill("https://127.0.0.1:9/hook");
    await alerts.locator("#webhook-description").fill("pager bridge");
    await alerts.getByRole("button", { name: "Add webhook" }).click();
    await expect(alerts.locator("#webhook-secret code")).toHaveText(/^gs_whsec_/);
    const added = alerts.locator("tr.webhook-row", { hasText: "pager bridge" });
    await expect(added).toHaveCount(1);
    await added.getByRole("button", { name: "Send test" }).click();
    await expect(alerts.locator("#alerts-message")).toContainText("the test failed: could not reach the receiver (connection failed).");
    await added.getByRole("button", { name: "Remove" }).click();
    await added.getByRole("button", { name: "Remove? Click again" }).click();
    await expect(alerts.locator("tr.webhook-row", { hasText: "pager bridge" })).toHaveCount(0);
    await expect(alerts.locator("tr.webhook-row")).toHaveCount(1);

    // a bad URL is refused with the field named
    await alerts.locator("#webhook-format").selectOption("pagerduty");
    await expect(alerts.locator("#webhook-target-label")).toHaveText("Integration (routing) key");
    await alerts.locator("#webhook-target").fill("short");
    await alerts.getByRole("button", { name: "Add webhook" }).click();
    await expect(alerts.locator("#alerts-message")).toContainText("Webhook not added. Integration (routing) key: must be 20 to 64 letters and digits.");

    // a PagerDuty service: its secret for PagerDuty's changes stored from the row, then forgotten
    await alerts.locator("#webhook-target").fill("R0UT1NGKEY0123456789abcdef");
    await alerts.getByRole("button", { name: "Add webhook" }).click();
    const pd = alerts.locator("tr.webhook-row", { hasText: "PagerDuty" });
    await expect(pd).toHaveCount(1);
    await expect(pd.locator(".pd-back")).toContainText("PagerDuty's changes are not followed");
    await expect(pd.locator(".pd-back")).toContainText("/api/v1/webhooks/pagerduty/");
    await pd.getByLabel(/^PagerDuty webhook secret for webhook #/).fill("whsec_pd_0123456789abcdef");
    await pd.getByRole("button", { name: "Store secret" }).click();
    await expect(pd.locator(".pd-back")).toContainText("Acknowledged or resolved in PagerDuty: followed here.");
    await pd.getByRole("button", { name: "Stop following" }).click();
    await pd.getByRole("button", { name: "Stop? Click again" }).click();
    await expect(pd.locator(".pd-back")).toContainText("PagerDuty's changes are not followed");

    // which events it gets, changed from its row
    await pd.locator("summary", { hasText: "Change" }).click();
    await pd.getByLabel("grew").uncheck();
    await pd.getByLabel("reopened").uncheck();
    await pd.getByRole("button", { name: "Save events" }).click();
    await expect(alerts.locator("#alerts-message")).toHaveText(/now gets opened, acknowledged, resolved\.$/);
    await expect(pd.locator("td").first()).toContainText("opened, acknowledged, resolved · every kind");
    await pd.getByRole("button", { name: "Remove" }).click();
    await pd.getByRole("button", { name: "Remove? Click again" }).click();
    await expect(alerts.locator("tr.webhook-row")).toHaveCount(1);
    expect(problems).toEqual([]);
  });

test("the list by kind: friction only, then a kind with none", async ({ page }) => {
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const cards = page.locator("button.incident-item");
  await expect(cards).toHaveCount(2);
  await page.locator("#kind-filter").selectOption("friction");
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toHaveAttribute("data-id", String(backend.friction_incident_id));
  await page.locator("#kind-filter").selectOption("drop");
  await expect(cards).toHaveCount(0);
  await expect(page.locator("#list-state")).toHaveText("No active drop incidents.");
  await page.locator("#kind-filter").selectOption("");
  await expect(cards).toHaveCount(2);
});

test("searching the list, and exporting what it shows as CSV", async ({ page }) => {
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const cards = page.locator("button.incident-item");
  await expect(cards).toHaveCount(2);
  const search = page.locator("#search");
  await search.fill("release blank");  // words of Claude's summary
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toHaveAttribute("data-id", String(backend.incident_id));
  await search.fill("rage");
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toHaveAttribute("data-id", String(backend.friction_incident_id));

  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#export").click()]);
  expect(download.suggestedFilename()).toMatch(/^groundswell-incidents-[0-9]{8}-[0-9]{4}\.csv$/);
  const text = await (await download.createReadStream()).toArray().then((parts) => Buffer.concat(parts).toString());
  expect(text.charCodeAt(0)).toBe(0xfeff);  // UTF-8 with a byte-order mark, as Excel wants it
  const lines = text.slice(1).trim().split("\r\n");
  expect(lines[0].startsWith("id,kind,kind_name,status,status_by,title,sentence,llm_summary,")).toBe(true);
  expect(lines).toHaveLength(2);  // the header and the one incident the list shows
  expect(lines[1].startsWith(`${backend.friction_incident_id},friction,`)).toBe(true);

  await cards.first().click();
  await expect(page.locator("#incident-detail h2")).toContainText(`(#${backend.friction_incident_id})`);
  await search.fill("zzzz");
  await expect(cards).toHaveCount(0);
  await expect(page.locator("#list-state")).toHaveText("No incidents here match \u201czzzz\u201d.");
  await expect(page.locator("#incident-detail")).toBeHidden();  // not left open beside "no incidents match"
  await search.fill("");
  await expect(cards).toHaveCount(2);
});

test("the newest incident opens beside the list on a wide screen; Escape closes it; a narrow screen keeps the list",
  async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const first = page.locator("button.incident-item").first();
    const id = await first.getAttribute("data-id");
    await expect(first).toHaveAttribute("aria-current", "true");
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${id})`);
    await page.keyboard.press("Escape");
    await expect(detail).toBeHidden();
    await expect(page.locator("button.incident-item[aria-current]")).toHaveCount(0);

    // Opened from its card with the keyboard, closed with Escape or its Close button: the keyboard goes back to
    // the card, not to the page's body; Escape in the search field leaves the keyboard there.
    const last = page.locator("button.incident-item").last();
    const lastId = await last.getAttribute("data-id");
    await last.focus();
    await page.keyboard.press("Enter");
    await expect(detail.locator("h2")).toContainText(`(#${lastId})`);
    await expect(detail).toBeFocused();
    await page.keyboard.press("Escape");
    await expect(detail).toBeHidden();
    await expect(last).toBeFocused();
    await page.keyboard.press("Enter");
    await detail.getByRole("button", { name: `Close incident #${lastId}` }).click();
    await expect(detail).toBeHidden();
    await expect(last).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(detail.locator("h2")).toContainText(`(#${lastId})`);
    await page.locator("#search").focus();
    await page.keyboard.press("Escape");
    await expect(detail).toBeHidden();
    await expect(page.locator("#search")).toBeFocused();

    await page.setViewportSize({ width: 600, height: 900 });
    await page.goto(`${backend.url}/incidents`);
    await page.reload();
    await expect(page.locator("button.incident-item").first()).toBeVisible();
    // Opening marks its card at once (before the detail loads): none is marked.
    await expect(page.locator("button.incident-item[aria-current]")).toHaveCount(0);
    await expect(detail).toBeHidden();
  });

test("accounts that changed: the surging organization and the silent account, as text, and another window",
  async ({ page }) => {
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("dialog", (d) => { problems.push("dialog: " + d.message()); void d.dismiss(); });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const section = page.locator("#accounts");
    await expect(section).toBeVisible();
    const rows = section.locator("tr.account-row");
    await expect(rows.filter({ hasText: "More tickets than usual" })
      .filter({ hasText: "Organization Kestrel <b>Logistics</b> (9007)" })).toHaveCount(1);
    const silent = rows.filter({ hasText: "Churn risk: fewer active users" });
    await expect(silent).toHaveCount(1);
    await expect(silent).toContainText("Account <img src=x onerror=alert(2)>");
    expect(await section.locator("img").count()).toBe(0);
    await expect(section).toContainText("The last day, compared with the same weekday in up to 8 weeks before.");
    await expect(section.locator("#accounts-digest")).toContainText("Weekly digest to Slack: off");

    await section.locator("select#accounts-days").selectOption("7");
    await expect(section).toContainText("The last 7 days, compared with up to 8 stretches of 7 days before them.");
    await page.reload();
    await expect(section.locator("select#accounts-days")).toHaveValue("7");
    expect(problems).toEqual([]);
  });


test("the weekly accounts digest is scheduled from the page once Slack is set up", async ({ page }) => {
  const headers = { Authorization: `Bearer ${backend.api_token}` };
  const settings = () => page.request.get(`${backend.url}/api/v1/settings/notifications`, { headers })
    .then((r) => r.json());
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const form = page.locator("#digest-form");
  await expect(form).toBeVisible();
  await expect(page.locator("#digest-day")).toBeDisabled();  // Slack is off: nothing could carry it
  await expect(page.locator("#digest-status")).toContainText("Set up Slack");

  const slack = { mode: "webhook", webhook_url: "https://hooks.slack.com/services/T000/B000/digestTest" };
  expect((await page.request.put(`${backend.url}/api/v1/settings/notifications`, { headers, data: slack })).ok())
    .toBe(true);
  await page.reload();
  await expect(page.locator("#digest-day")).toBeEnabled();
  await expect(page.locator("#digest-day")).toHaveValue("");
  await expect(page.locator("#digest-hour")).toBeDisabled();
  await page.locator("#digest-day").selectOption("2");
  await page.locator("#digest-hour").selectOption("14");
  await page.locator("#digest-save").click();
  await expect(page.locator("#digest-status")).toHaveText("Saved.");
  await expect(page.locator("#accounts-digest")).toContainText("Weekly digest to Slack: Wednesdays at 14:00 UTC");
  expect(await settings()).toMatchObject({ mode: "webhook", webhook_url_set: true,
                                           accounts_digest: { weekday: 2, hour: 14 } });
  await page.reload();
  await expect(page.locator("#digest-day")).toHaveValue("2");
  await expect(page.locator("#digest-hour")).toHaveValue("14");

  await page.locator("#digest-day").selectOption("");
  await page.locator("#digest-save").click();
  await expect(page.locator("#digest-status")).toHaveText("Saved: no digest.");
  await expect(page.locator("#accounts-digest")).toHaveText("Weekly digest to Slack: off.");
  expect((await settings()).accounts_digest).toBeNull();
  await page.request.put(`${backend.url}/api/v1/settings/notifications`,
                         { headers, data: { mode: "off", webhook_url: null } });  // as the other tests expect it
});

test("how detection went: the period's incidents, the figures, a bar a week and where they were", async ({ page }) => {
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const report = page.locator("#report");
  await expect(report).toBeVisible();
  await expect(report.locator(".report-sentence")).toHaveText("2 incidents detected: 1 spike, 1 in-app friction.");
  await expect(report.locator(".report-figures")).toContainText("Time to respond");
  await expect(report.locator(".report-figures")).toContainText("2 not rated");
  // four weeks, or five when the period starts mid-week; this week's bar is the two unrated incidents
  const labels = report.locator("svg.report-chart text");
  expect(await labels.count()).toBeGreaterThanOrEqual(5);
  await expect(report.locator("svg.report-chart rect.bar.unrated")).toHaveCount(1);
  await expect(report.locator("svg.report-chart rect.bar.unrated title")).toContainText("2 not rated of 2");
  await expect(report.locator("table.report-series tr")).toHaveCount(3);  // the header and two series
  await page.locator("#report-weeks").selectOption("52");
  expect(await report.locator("svg.report-chart text").count()).toBeGreaterThanOrEqual(3);
  await expect(report.locator(".report-sentence")).toHaveText("2 incidents detected: 1 spike, 1 in-app friction.");
});

test("how detection went says \"9 in 10 within\" only over 10 incidents or more; over fewer, the slowest",
  async ({ page }) => {
    await page.route("**/api/v1/incidents/report?*", async (route) => {
      const body = await (await route.fetch()).json();
      body.time_to_respond = { count: 3, median_minutes: 12, p90_minutes: 28 };
      body.time_to_resolve = { count: 12, median_minutes: 95, p90_minutes: 240 };
      await route.fulfill({ json: body });
    });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const figures = page.locator("#report .report-figures");
    await expect(figures.locator("dd", { hasText: /^12 min/ })).toHaveText("12 min median over 3 incidents; the slowest 28 min");
    await expect(figures.locator("dd", { hasText: /^1\.6 h/ })).toHaveText("1.6 h median over 12 incidents; 9 in 10 within 4.0 h");
  });

test("signing in with the form loads every section at once, not at its next refresh", async ({ page }) => {
  await page.goto(`${backend.url}/incidents`);
  await expect(page.locator("#login")).toBeVisible();
  await page.locator("#token").fill("gs_sk_not_a_token");
  await page.locator("#login button[type=submit]").click();
  await expect(page.locator("#login-error")).toHaveText(/^That API token was not accepted: .+\. Paste the tenant's token/);
  await expect(page.locator("#login")).toBeVisible();
  await page.locator("#token").fill(backend.api_token);
  await page.locator("#login button[type=submit]").click();
  await expect(page.locator("button.incident-item")).toHaveCount(2);
  for (const id of ["#report", "#tuning", "#alerts", "#accounts"]) {
    await expect(page.locator(id)).toBeVisible({ timeout: 5000 });
  }
  await expect(page.locator("#login-error")).toBeHidden();
});

test("Slack from the page: a webhook, then a bot's channel with buttons, then off; secrets never come back",
  async ({ page }) => {
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const form = page.locator("#slack-form");
    await expect(form).toBeVisible();
    await expect(page.locator("#alerts-slack")).toHaveText("Slack: off. Choose where incidents go below.");
    await expect(page.locator("#slack-webhook-url")).toBeHidden();
    await expect(page.locator("#slack-test")).toBeDisabled();

    await page.locator("#slack-mode").selectOption("webhook");
    await expect(page.locator("#slack-webhook-url")).toBeVisible();
    await expect(page.locator("#slack-bot-token")).toBeHidden();
    await page.locator("#slack-save").click();  // no URL yet: the server names what is missing
    await expect(page.locator("#slack-message")).toContainText("Slack settings not saved");
    await expect(page.locator("#slack-message")).toContainText("Incoming webhook URL: required for an incoming webhook.");
    const url = "https://hooks.slack.com/services/T000/B000/s3cr3tPart";
    await page.locator("#slack-webhook-url").fill(url);
    await page.locator("#slack-save").click();
    await expect(page.locator("#alerts-slack")).toHaveText(/^Slack: one message per incident event \(incoming webhook\)\. No buttons/);
    await expect(page.locator("#slack-webhook-url")).toHaveValue("");
    await expect(page.locator("#slack-webhook-url")).toHaveAttribute("placeholder", "stored (empty: keep it)");
    await expect(page.locator("#slack-test")).toBeEnabled();

    await page.locator("#slack-mode").selectOption("web_api");
    await page.locator("#slack-bot-token").fill("xoxb-1234-5678-abcdefgh");
    await page.locator("#slack-channel").fill("#incidents");
    await page.locator("#slack-signing-secret").fill("8f742231b10e8888abcd99yyyzzz85a5");
    await page.locator("#slack-save").click();
    await expect(page.locator("#alerts-slack")).toContainText("one thread per incident in #incidents (Web API)");
    await expect(page.locator("#alerts-slack")).toContainText("Messages carry Acknowledge, Useful and Noise buttons");
    await expect(page.locator("#slack-no-buttons-label")).toBeVisible();
    const headers = { Authorization: `Bearer ${backend.api_token}` };
    const stored = await (await page.request.get(`${backend.url}/api/v1/settings/notifications`, { headers })).text();
    for (const secret of ["s3cr3tPart", "xoxb-1234", "8f742231b10e"]) expect(stored).not.toContain(secret);
    expect(JSON.parse(stored)).toMatchObject({ mode: "web_api", channel: "#incidents", bot_token_set: true,
                                              webhook_url_set: true, signing_secret_set: true });

    await page.locator("#slack-no-buttons").check();
    await page.locator("#slack-save").click();
    await expect(page.locator("#alerts-slack")).toContainText("No buttons");
    await page.locator("#slack-mode").selectOption("off");
    await page.locator("#slack-save").click();
    await expect(page.locator("#alerts-slack")).toHaveText("Slack: off. Choose where incidents go below.");
    await expect(page.locator("#slack-test")).toBeDisabled();
  });

test.describe("a reader five and a half hours east of UTC", () => {
  test.use({ timezoneId: "Asia/Kolkata", locale: "en-GB" });

  test("sees the sentence's first-seen clock in their own time zone, as the page's other times", async ({ page }) => {
    const res = await fetch(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
                            { headers: { Authorization: `Bearer ${backend.api_token}` } });
    const inc = await res.json();
    const written = /first seen (\d{2}):(\d{2}) UTC/.exec(inc.sentence);
    expect(written).not.toBeNull();
    const minutes = (Number(written![1]) * 60 + Number(written![2]) + 330) % 1440;  // +05:30
    const local = `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;

    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const card = page.locator(`button.incident-item[data-id="${backend.incident_id}"]`);
    await expect(card.locator(".item-sentence")).toContainText(`first seen ${local}`);
    await card.click();
    const sentence = page.locator("#incident-detail p.sentence");
    await expect(sentence).toContainText(`first seen ${local}`);
    await expect(sentence).not.toContainText("UTC");
  });
});

test("a refresh of where alerts go keeps what someone changed and has not saved yet", async ({ page }) => {
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  await expect(page.locator("#slack-form")).toBeVisible();
  await page.locator("#slack-mode").selectOption("webhook");
  await page.locator("#slack-webhook-url").fill("https://hooks.slack.com/services/T000/B000/notSavedYet");
  await page.locator("h1").first().click();  // focus leaves the form
  // something changes on the server meanwhile, so that the section's redraw shows
  const headers = { Authorization: `Bearer ${backend.api_token}` };
  const mute = await (await page.request.post(`${backend.url}/api/v1/mutes`, {
    headers, data: { incident_id: backend.incident_id, hours: 1, reason: "refresh marker" } })).json();
  await page.evaluate(() => document.dispatchEvent(new Event("gs-token")));  // the sections load again
  await expect(page.locator("#alerts-mutes")).toContainText("refresh marker");  // drawn from the new answers
  await expect(page.locator("#alerts-slack")).toHaveText("Slack: off. Choose where incidents go below.");
  await expect(page.locator("#slack-mode")).toHaveValue("webhook");
  await expect(page.locator("#slack-webhook-url")).toHaveValue("https://hooks.slack.com/services/T000/B000/notSavedYet");
  await expect(page.locator("#slack-webhook-url")).toBeVisible();
  await page.request.delete(`${backend.url}/api/v1/mutes/${mute.id}`, { headers });
});

test("an action keeps the keyboard where it was, says what it did, and the report follows at once", async ({ page }) => {
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const report = page.locator("#report");
  await expect(report.locator(".report-figures")).toContainText("2 not rated");
  await page.locator(`button.incident-item[data-id="${backend.friction_incident_id}"]`).click();
  const detail = page.locator("#incident-detail");
  await expect(detail.locator("h2")).toContainText(`(#${backend.friction_incident_id})`);
  await page.locator("#by").fill("Kai");
  const useful = detail.locator('button[data-action="useful"]');
  await useful.focus();
  await page.keyboard.press("Enter");
  await expect(useful).toHaveText("Mark useful (1)");
  await expect(useful).toBeFocused();  // not dropped to the page's body
  await expect(detail.locator(".detail-done")).toContainText("Marked useful by Kai");
  await expect(page.getByRole("status").filter({ hasText: "Marked useful by Kai" })).toHaveCount(1);
  await expect(report.locator(".report-figures")).toContainText("1 not rated");  // without waiting a minute
  await page.keyboard.press("Enter");  // the same person again: one verdict a person
  await expect(detail.locator(".detail-done")).toHaveText("Already marked useful by Kai: nothing changed.");
  await expect(useful).toHaveText("Mark useful (1)");

  const ack = detail.locator('button[data-action="status-acknowledged"]');
  await ack.focus();
  await page.keyboard.press("Enter");
  await expect(detail.locator(".detail-done")).toHaveText("Acknowledged by Kai.");
  await expect(detail.locator("h2")).toBeFocused();  // its button is gone: the heading has focus
});

/** Sets an incident's status through the API, as another person would (nothing when it already has it). */
async function setStatus(page: Page, id: unknown, status: string, by: string) {
  const headers = { Authorization: `Bearer ${backend.api_token}` };
  const now = await (await page.request.get(`${backend.url}/api/v1/incidents/${id}`, { headers })).json();
  if (now.status === status) return;
  const r = await page.request.patch(`${backend.url}/api/v1/incidents/${id}/status`, { headers, data: { status, by } });
  expect(r.ok()).toBe(true);
}

test("a refresh leaves the open incident alone while someone works in it, then draws what changed and says it",
  async ({ page }) => {
    await setStatus(page, backend.incident_id, "open", "setup");
    await page.clock.install();  // the page's 15 s refresh, run on demand
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.incident_id}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${backend.incident_id})`);
    // Not read out whole on each refresh: the detail and the time of the last refresh are not live regions.
    await expect(detail).not.toHaveAttribute("aria-live", /.*/);
    await expect(page.locator("#updated")).not.toHaveAttribute("aria-live", /.*/);
    await expect(page.locator("#updated")).toHaveText(/^Updated \S/);
    await expect(page.locator("#updated")).not.toHaveText(/\d:\d\d:\d\d/);  // to the minute, as every time here
    const refreshed = () => page.waitForResponse((r) =>
      new URL(r.url()).pathname === `/api/v1/incidents/${backend.incident_id}` && r.request().method() === "GET");
    const probe = () => detail.locator("h2").evaluate((h) => (h as HTMLElement).dataset.probe ?? null);
    await detail.locator("h2").evaluate((h) => { (h as HTMLElement).dataset.probe = "first drawing"; });

    // Nothing changed on the server: nothing is drawn again.
    await Promise.all([refreshed(), page.clock.fastForward(16_000)]);
    await page.waitForTimeout(300);
    expect(await probe()).toBe("first drawing");

    // Someone chose to mute for 7 days and has not clicked yet; meanwhile another person acknowledges it.
    await detail.locator("#mute-hours").selectOption("168");
    await page.locator("h1").click();  // the keyboard is elsewhere: the changed choice alone holds the redraw
    await setStatus(page, backend.incident_id, "acknowledged", "Lee");
    await Promise.all([refreshed(), page.clock.fastForward(16_000)]);
    const news = page.locator("#incident-news");
    await expect(news).toHaveAttribute("role", "status");
    await expect(news).toHaveText(`Incident #${backend.incident_id} is acknowledged now (Lee).`);
    await expect(detail.locator("#mute-hours")).toHaveValue("168");
    await expect(detail.getByRole("button", { name: "Acknowledge" })).toBeVisible();  // still as it was
    expect(await probe()).toBe("first drawing");

    // Back to the default choice and away from it: the waiting answer is drawn, what was said stays shown.
    await detail.locator("#mute-hours").selectOption("4");
    await page.locator("h1").click();
    await expect(detail.getByRole("button", { name: "Back to open" })).toBeVisible();
    await expect(detail.getByRole("button", { name: "Acknowledge" })).toHaveCount(0);
    expect(await probe()).toBeNull();
    await expect(detail.locator(".detail-done")).toHaveText(`Incident #${backend.incident_id} is acknowledged now (Lee).`);

    // A message the person has not acted on yet outlives a redraw, and the keyboard stays where it was.
    await page.locator("#by").fill("");
    await detail.getByRole("button", { name: "Back to open" }).click();
    await expect(detail.locator(".detail-error")).toContainText("Enter your name first");
    await expect(page.locator("#by")).toBeFocused();
    await setStatus(page, backend.incident_id, "open", "Lee");
    await Promise.all([refreshed(), page.clock.fastForward(16_000)]);
    await expect(detail.getByRole("button", { name: "Acknowledge" })).toBeVisible();
    await expect(detail.locator(".detail-error")).toContainText("Enter your name first");
    await expect(page.locator("#by")).toBeFocused();
    await expect(news).toHaveText(`Incident #${backend.incident_id} is open now (Lee).`);
  });

test("an acknowledged incident goes back to open; a resolved one reopens", async ({ page }) => {
  // its hour so far well above its usual range, whatever the minute the test runs at
  await page.route(`**/api/v1/incidents/${backend.incident_id}{,/status}`, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    const last = body.volume?.[body.volume.length - 1];
    if (last) last.tickets = last.requesters = Math.ceil(last.upper) + 5;
    await route.fulfill({ response, json: body });
  });
  await setStatus(page, backend.incident_id, "acknowledged", "Lee");
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.incident_id}`);
  const detail = page.locator("#incident-detail");
  await expect(detail.locator(".status")).toHaveText("acknowledged");
  await expect(detail.getByRole("button", { name: "Reopen" })).toHaveCount(0);
  await page.locator("#by").fill("Ana");
  await detail.getByRole("button", { name: "Back to open" }).click();
  await expect(detail.locator(".detail-done")).toHaveText("Back to open by Ana.");
  await expect(detail.getByRole("button", { name: "Acknowledge" })).toBeVisible();
  await expect(detail.getByRole("button", { name: /^(Back to open|Reopen)$/ })).toHaveCount(0);
  // its hour so far is still above the usual range: the first click says the detector would reopen it, the
  // second resolves it
  await detail.getByRole("button", { name: "Resolve" }).click();
  await expect(detail.locator(".status")).toHaveText("open");
  const anyway = detail.getByRole("button", { name: "Resolve anyway" });
  await expect(anyway).toBeFocused();
  await expect(detail.locator(".detail-done")).toHaveText(
    /^Still above its usual range \(\d+ customers this hour so far\): it reopens if this goes on\.$/);
  await page.unroute(`**/api/v1/incidents/${backend.incident_id}{,/status}`);
  await anyway.click();
  await expect(detail.locator(".status")).toHaveText("resolved");
  await expect(detail.getByRole("button", { name: "Back to open" })).toHaveCount(0);
  await detail.getByRole("button", { name: "Reopen" }).click();
  await expect(detail.locator(".detail-done")).toHaveText("Reopened by Ana.");
});

test("marking says what it did: one verdict a person, the other one replaces it, the same one changes nothing",
  async ({ page }) => {
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.incident_id}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${backend.incident_id})`);
    await page.locator("#by").fill("Mo");
    const done = detail.locator(".detail-done");
    await detail.locator('[data-action="noise"]').click();
    await expect(done).toHaveText("Marked noise by Mo. One verdict a person: marking it useful would replace it.");
    await detail.locator('[data-action="useful"]').click();
    await expect(done).toHaveText("Marked useful by Mo, replacing their noise.");
    await expect(detail.locator('[data-action="noise"]')).toHaveText("Mark noise (0)");
    await detail.locator('[data-action="useful"]').click();
    await expect(done).toHaveText("Already marked useful by Mo: nothing changed.");
  });

test("your own verdict is shown pressed, for the name you gave; only the next step is the primary button",
  async ({ page }) => {
    await setStatus(page, backend.friction_incident_id, "open", "setup");
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.friction_incident_id}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${backend.friction_incident_id})`);
    const useful = detail.locator('[data-action="useful"]'), noise = detail.locator('[data-action="noise"]');
    await expect(useful).toHaveAttribute("aria-pressed", "false");
    await expect(noise).toHaveAttribute("aria-pressed", "false");
    await page.locator("#by").fill("Quinn");
    await noise.click();
    await expect(noise).toHaveAttribute("aria-pressed", "true");
    await expect(useful).toHaveAttribute("aria-pressed", "false");
    const look = (b: Locator) => b.evaluate((e) => getComputedStyle(e).backgroundColor);
    expect(await look(noise)).not.toBe(await look(useful));  // it looks pressed too
    await page.locator("#by").fill("Somebody else");
    await expect(noise).toHaveAttribute("aria-pressed", "false");
    await page.locator("#by").fill("Quinn");
    await expect(noise).toHaveAttribute("aria-pressed", "true");
    await page.reload();  // read from the incident's feedback, not remembered by the page
    await expect(detail.locator('[data-action="noise"]')).toHaveAttribute("aria-pressed", "true");

    // Open: Acknowledge is the one primary button; acknowledged: Resolve is.
    const primary = () => detail.locator('.actions button:not(.secondary)');
    await expect(detail.locator(".status")).toHaveText("open");
    await expect(primary()).toHaveText(["Acknowledge"]);
    await detail.getByRole("button", { name: "Acknowledge" }).click();
    await expect(detail.locator(".status")).toHaveText("acknowledged");
    await expect(primary()).toHaveText(["Resolve"]);
    await detail.getByRole("button", { name: "Back to open" }).click();
    await expect(detail.locator(".status")).toHaveText("open");
    await expect(primary()).toHaveText(["Acknowledge"]);
  });

test("a section gone to from a link stays in view while sections above it appear after it", async ({ page }) => {
  // The widget settings' answer (the known issues and the detection settings above the alerts wait for it) is
  // held until the alerts have been gone to.
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  await page.route("**/api/v1/settings/widget", async (route) => {
    if (route.request().method() === "GET") await held;
    await route.fallback();
  });
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  await expect(page.locator("#alerts")).toBeVisible();
  await expect(page.locator("#known-issues")).toBeHidden();
  await page.getByRole("navigation", { name: "On this page" }).getByRole("link", { name: "Alerts" }).click();
  await expect(page.locator("#alerts-heading")).toBeFocused();
  await expect(page.locator("#alerts-heading")).toBeInViewport();
  release();
  await expect(page.locator("#known-issues")).toBeVisible();
  await expect(page.locator("#tuning")).toBeVisible();
  await expect(page.locator("#alerts-heading")).toBeInViewport();
  await expect(page.locator("#alerts-heading")).toBeFocused();
});

test("an incident's notifications say once that Slack is not set up, with the way to set it up", async ({ page }) => {
  // The seed's incident went to Slack; here its answer says Slack was not set up for its two events.
  await page.route(new RegExp(`/api/v1/incidents/${backend.incident_id}$`), async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    const note = body.notifications[0];
    const unset = { ...note.slack, state: "not_configured", status: null, error: null };
    const notes = [{ ...note, slack: unset }, { ...note, event: "grew", slack: unset, webhooks: [] }];
    await route.fulfill({ response, json: { ...body, notifications: notes } });
  });
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.incident_id}`);
  const detail = page.locator("#incident-detail");
  await expect(detail.locator("ul.notifications li")).toHaveCount(2);
  await expect(detail.locator(".slack-unset")).toHaveText(
    "Slack: not configured, so none of these went there. Set it up under Where alerts go.");
  await expect(detail.locator("ul.notifications")).not.toContainText("Slack");
  await expect(detail.locator("ul.notifications li").first()).toContainText("webhook #1");
  await expect(detail.locator("ul.notifications li").nth(1)).toContainText(/^grew · .* · sent nowhere$/);
  await detail.locator(".slack-unset a").click();
  await expect(page.locator("#alerts-heading")).toBeFocused();
  await expect(page.locator("#alerts-heading")).toBeInViewport();
  expect(new URL(page.url()).hash).toBe(`#id=${backend.incident_id}`);  // the open incident stays in the address
  await expect(detail).toBeVisible();
});

test("the header lists the page's sections: each link scrolls to its section and leaves the open incident open",
  async ({ page }) => {
    await page.goto(`${backend.url}/incidents`);
    const nav = page.getByRole("navigation", { name: "On this page" });
    await expect(nav).toBeHidden();  // nothing to go to before the token is given
    await expect(page.locator("#try-it")).toHaveCount(0);  // the demo's strip is the demo's only
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.incident_id}`);
    await page.reload();  // (the address changed only its fragment)
    await expect(page.locator("#incident-detail h2")).toContainText(`(#${backend.incident_id})`);
    await expect(page.locator("#tuning")).toBeVisible();
    await expect(nav.getByRole("link")).toHaveText(["Incidents", "Report", "In-app help", "Known issues", "Accounts", "Settings", "Alerts"]);
    await nav.getByRole("link", { name: "Settings" }).click();
    await expect(page.locator("#tuning-heading")).toBeFocused();
    await expect(page.locator("#tuning-heading")).toBeInViewport();
    await nav.getByRole("link", { name: "Alerts" }).click();
    await expect(page.locator("#alerts-heading")).toBeFocused();
    expect(new URL(page.url()).hash).toBe(`#id=${backend.incident_id}`);
    await expect(page.locator("#incident-detail")).toBeVisible();

    // An address naming a section (the dashboard's links to the settings) opens the page there.
    await page.goto(`${backend.url}/incidents#alerts`);
    await page.reload();
    await expect(page.locator("#alerts-heading")).toBeInViewport();
    await expect(page.locator("#alerts-heading")).toBeFocused();
  });

test("on a phone, the report's places with the most incidents show every count, stacked under each place",
  async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const table = page.locator("#report table.report-series");
    await expect(table).toBeVisible();
    const cells = await table.locator("tbody th, tbody td").evaluateAll((es) => es.map((e) => {
      const r = e.getBoundingClientRect();
      return { text: e.textContent, right: r.right, before: getComputedStyle(e, "::before").content };
    }));
    expect(cells.length).toBe(8);
    for (const c of cells) expect(c.right, String(c.text)).toBeLessThanOrEqual(390);
    expect(cells.filter((c) => c.before === '"Noise: "')).toHaveLength(2);
    expect(await table.evaluate((t) => t.scrollWidth <= t.clientWidth)).toBe(true);
  });

test("times read alike: the sentence's clock, the chart's legend and the evidence as page.js writes them",
  async ({ page }) => {
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${backend.incident_id}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${backend.incident_id})`);
    const inc = await (await page.request.get(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
      { headers: { Authorization: `Bearer ${backend.api_token}` } })).json();
    const written = await page.evaluate((iso) => {
      const gs = (window as unknown as { GS: { when(iso: string): string } }).GS;
      const time = new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      return { when: gs.when(iso), time };
    }, inc.first_seen_at);
    expect(written.when).toContain(written.time);  // the clock alone is page.js's time of day
    await expect(detail.locator(".legend")).toContainText(`first seen ${written.when}`);
    await expect(detail.locator("dt", { hasText: /^First seen$/ }).locator("xpath=following-sibling::dd[1]"))
      .toHaveText(written.when);
    await expect(detail.locator("p.sentence")).toContainText(`first seen ${written.time}`);
  });

test("while the detector reads its history, an empty list says so and how much is left instead of \"All quiet\"",
  async ({ page }) => {
    let pending = 1986;
    await page.route((url) => url.pathname === "/api/v1/incidents", (route) =>
      route.fulfill({ json: { incidents: [], total: 0, limit: 100, offset: 0 } }));
    await page.route((url) => url.pathname === "/api/v1/status", async (route) => {
      const body = await (await route.fetch()).json();
      body.detector.pending_events = pending;
      await route.fulfill({ json: body });
    });
    await page.clock.install();
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    await expect(page.locator("#list-state")).toHaveText("No active incidents yet: the detector is still reading history.");
    await expect(page.locator("#list-backlog")).toHaveText(
      /^1\D?986 events to go; incidents appear a few minutes after it catches up\.$/);  // in the reader's digits
    await expect(page.locator("#list-backlog")).not.toHaveAttribute("role", /.*/);
    pending = 0;
    await page.clock.fastForward(16_000);
    await expect(page.locator("#list-state")).toHaveText("No active incidents. All quiet.");
    await expect(page.locator("#list-backlog")).toBeHidden();
  });

test.describe("the demo, whose Zendesk is its stand-in", () => {
  let demo: Backend;
  test.beforeAll(async () => { demo = await startBackend({ seed: "incidents", settings: { DEMO_PAGES: "1" } }); });
  test.afterAll(async () => { await demo.stop(); });

  test("ticket numbers open the ticket on the demo's agent page, with the page's token and none in an address",
    async ({ page, context }) => {
      await page.goto(`${demo.url}/incidents#token=${demo.api_token}&id=${demo.incident_id}`);
      const detail = page.locator("#incident-detail");
      await expect(detail.locator("h2")).toContainText(`(#${demo.incident_id})`);
      await expect(detail.locator('a[href*="zendesk.com"]')).toHaveCount(0);
      const first = detail.locator(".ticket-ids a").first();
      const number = (await first.textContent())!.replace(/^#/, "");
      expect(number).toMatch(/^[0-9]+$/);
      await expect(first).toHaveAttribute("href", `/demo/zendesk#ticket=${number}`);
      await expect(first).toHaveAttribute("target", "_blank");
      await expect(first).toHaveAttribute("rel", "opener");
      await expect(detail.locator(".representatives a").first()).toHaveAttribute("href", /^\/demo\/zendesk#ticket=[0-9]+$/);
      const hrefs = await detail.evaluate((d) => [...d.querySelectorAll("a")].map((a) => a.getAttribute("href") ?? ""));
      expect(hrefs.filter((h) => h.includes("token"))).toEqual([]);
      const agent = detail.locator(".agent-page a");
      await expect(agent).toHaveAttribute("href", "/demo/zendesk");
      await expect(detail.locator(".agent-page")).toHaveText(
        "In the demo these tickets are in its stand-in Zendesk: a number opens the ticket on the agent page in a new tab.");

      // The click opens the ticket in a new tab without asking for the token again; the tab's address names the
      // ticket and no token, and it cannot reach back into the incidents page.
      const [tab] = await Promise.all([context.waitForEvent("page"), first.click()]);
      await expect(tab.locator("#ticket-title")).toHaveText(new RegExp(`^#${number}\\b`));
      await expect(tab.locator("#ticket-pane")).toBeVisible();
      await expect(tab.locator("#token-pane")).toBeHidden();
      await expect(tab.locator('iframe[data-location="ticket_sidebar"]')).toBeAttached();
      expect(new URL(tab.url()).hash).toBe(`#ticket=${number}`);
      expect(await tab.evaluate(() => window.opener)).toBeNull();
      await tab.close();
    });

  test("a 'Try it' strip on the dashboard and the incidents page leads to the agent's side and the customer's",
    async ({ page, context }) => {
      for (const path of ["/", "/incidents"]) {
        await page.goto(`${demo.url}${path}#token=${demo.api_token}`);
        const strip = page.locator("#try-it");
        await expect(strip).toBeVisible();
        await expect(strip.getByRole("link", { name: "The agent's side" })).toHaveAttribute("href", "/demo/zendesk");
        await expect(strip.getByRole("link", { name: "The customer's side" })).toHaveAttribute("href", "/demo/acme/billing");
      }
      // The agent page opens in a tab of its own with this tab's token (no token asked for, none in an address).
      const [agent] = await Promise.all([context.waitForEvent("page"),
        page.locator("#try-it").getByRole("link", { name: "The agent's side" }).click()]);
      await expect(agent.locator("#token-pane")).toBeHidden();
      await expect(agent.locator("#ticket-list li").first()).toBeVisible();
      expect(agent.url()).not.toContain("token");
      await agent.close();
      const [product] = await Promise.all([context.waitForEvent("page"),
        page.locator("#try-it").getByRole("link", { name: "The customer's side" }).click()]);
      await expect(product).toHaveTitle(/Acme Billing/);
      await product.close();
    });

  test("opened in a tab of its own (no token to copy), the agent page asks for the token, then opens the ticket",
    async ({ page }) => {
      const incident = await (await page.request.get(`${demo.url}/api/v1/incidents/${demo.incident_id}`,
        { headers: { Authorization: `Bearer ${demo.api_token}` } })).json();
      const number = String(incident.ticket_ids[0]);
      await page.goto(`${demo.url}/demo/zendesk#ticket=${number}`);
      await expect(page.locator("#token-pane")).toBeVisible();
      await page.getByLabel("Groundswell API token").fill(demo.api_token);
      await page.getByRole("button", { name: "Use token" }).click();
      await expect(page.locator("#ticket-title")).toHaveText(new RegExp(`^#${number}\\b`));
      await expect(page.locator("#ticket-pane")).toBeVisible();
    });
});

test("a new incident arriving in the list is said once on the status line; an old one coming back, or one a person brought back, is not",
  async ({ page }) => {
    let extra: object[] = [];
    await page.route(/\/api\/v1\/incidents\?/, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      await route.fulfill({ response, json: { ...body, incidents: [...extra, ...body.incidents],
                                              total: body.total + extra.length } });
    });
    await page.clock.install();
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
    const news = page.locator("#incident-news");
    const first = page.locator("button.incident-item").first();
    await expect(first).toBeVisible();
    const template = await (await page.request.get(`${backend.url}/api/v1/incidents?limit=1`,
      { headers: { Authorization: `Bearer ${backend.api_token}` } })).json();
    const base = template.incidents[0];
    const old = new Date(Date.now() - 3 * 3600_000).toISOString();
    extra = [{ ...base, id: 9001, title: "Spike: 'came back'", status: "open", detected_at: old, first_seen_at: old },
             { ...base, id: 9002, title: "Spike: 'checkout <b>500</b>'", status: "open", status_by: "detector",
               detected_at: new Date().toISOString() },
             // detected just now too, but back in the list by a person (a merge undone elsewhere): not new
             { ...base, id: 9003, title: "Spike: 'unmerged'", status: "open", status_by: "Lee",
               detected_at: new Date().toISOString() }];
    await page.clock.fastForward(16_000);
    await expect(page.locator('button.incident-item[data-id="9002"]')).toBeVisible();
    await expect(page.locator('button.incident-item[data-id="9003"]')).toBeVisible();
    await expect(news).toHaveText("New incident #9002: Spike: 'checkout <b>500</b>'.");  // as text
    // The next refresh brings nothing new: nothing more is said.
    await news.evaluate((n) => { n.textContent = ""; });
    const listed = page.waitForResponse(/\/api\/v1\/incidents\?/);
    await page.clock.fastForward(16_000);
    await listed;
    await expect(page.locator('button.incident-item[data-id="9002"]')).toBeVisible();
    await page.waitForTimeout(300);
    await expect(news).toHaveText("");
    await page.unrouteAll({ behavior: "ignoreErrors" });
  });
