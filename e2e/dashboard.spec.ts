// The live dashboard in a real browser against a backend holding open incidents (the incidents seed):
// it says what is going on now and which topics it is on, and explains its red bars.
import { test, expect } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;

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
  await expect(badge).toHaveText(`incident #${onTopic.id} (${onTopic.kind.replace("_", " ")})`);
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
