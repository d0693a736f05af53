// An admin declares a known issue on the incidents page in a real browser, against a real backend: the page sends
// the list alone (the widget's tips stay as stored), and the widget's known-issues endpoint then gives it to the
// pages it matches, and no longer once it is removed.
import { test, expect } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;

test.beforeAll(async () => { backend = await startBackend({}); });
test.afterAll(async () => { await backend.stop(); });

async function banners(page: import("@playwright/test").Page, path: string): Promise<string[]> {
  const r = await page.request.get(`${backend.url}/api/v1/widget/known-issues?site_key=${backend.site_key}` +
                                   `&url=${encodeURIComponent(backend.url + path)}`, { headers: { Origin: backend.url } });
  expect(r.status()).toBe(200);
  return ((await r.json()).issues as { message: string }[]).map((i) => i.message);
}

test("a known issue declared on the incidents page reaches the pages it matches, and goes when removed", async ({ page }) => {
  const auth = { Authorization: `Bearer ${backend.api_token}` };
  const tip = { id: "pay", match: "/billing*", title: "Trouble paying?", body: "Try a card.", link_url: null,
                link_text: null, when: [] };
  expect((await page.request.put(`${backend.url}/api/v1/settings/widget`, { headers: auth,
    data: { nudges: [tip], holdout: 0 } })).status()).toBe(200);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });

  await page.goto(`${backend.url}/incidents#token=${backend.api_token}`);
  const section = page.locator("#known-issues");
  await expect(section).toContainText("None declared.");
  await section.getByLabel("Page").fill("/invoices*");
  await section.getByLabel("Message").fill("Invoice PDFs are blank; we are on it.");
  await section.getByRole("button", { name: "Declare" }).click();
  await expect(page.locator("#known-status")).toHaveText("Declared: pages matching /invoices* show it from their next load.");
  await expect(section.locator("#known-list")).toContainText("/invoices*: Invoice PDFs are blank; we are on it.");
  expect(await banners(page, "/invoices/42")).toEqual(["Invoice PDFs are blank; we are on it."]);
  expect(await banners(page, "/billing")).toEqual([]);
  const stored = await (await page.request.get(`${backend.url}/api/v1/settings/widget`, { headers: auth })).json();
  expect(stored.nudges.map((n: { id: string }) => n.id)).toEqual(["pay"]);  // the tips stay
  expect(stored.holdout).toBe(0);

  const remove = section.getByRole("button", { name: "Remove the known issue on /invoices*" });
  await remove.click();
  await remove.click();
  await expect(section.locator("#known-list")).toContainText("None declared.");
  expect(await banners(page, "/invoices/42")).toEqual([]);
  expect(problems).toEqual([]);
});
