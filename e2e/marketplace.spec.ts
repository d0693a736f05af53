// Marketplace screenshots of the real app: the built bundle in the fake Zendesk agent page, against a real
// backend with sample incidents. Writes screenshot-0.png (a ticket with its incident in the sidebar),
// screenshot-1.png (the nav bar's open incidents) and screenshot-2.png (the sidebar scrolled to what the
// customer met in the product before writing), 1280x800, into test-results/marketplace/, or into
// MARKETPLACE_SCREENSHOTS_DIR: `MARKETPLACE_SCREENSHOTS_DIR=zendesk_app/assets npx playwright test
// e2e/marketplace.spec.ts` refreshes the committed ones (run `npm run build` first).
import { test, expect, type Page } from "@playwright/test";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startBackend, type Backend } from "./backend";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.resolve(ROOT, process.env.MARKETPLACE_SCREENSHOTS_DIR ?? "test-results/marketplace");
const SIZE = { width: 1280, height: 800 };

let backend: Backend;
test.beforeAll(async () => {
  backend = await startBackend({ seed: "marketplace", settings: { DEMO_PAGES: "true" } });
});
test.afterAll(async () => { await backend.stop(); });

/** Width and height from a PNG's IHDR chunk. */
async function pngSize(file: string): Promise<{ width: number; height: number }> {
  const data = await readFile(file);
  expect(data.subarray(1, 4).toString("latin1")).toBe("PNG");
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

async function settle(page: Page, slot: string): Promise<void> {
  const app = page.frameLocator(`${slot} iframe`);
  await expect(app.locator("h2").first()).toBeVisible();
  await expect(app.locator(".gs-loading, .gs-error")).toHaveCount(0);
  // The app asks the host to resize its frame to its content: wait until the frame shows all of it.
  const frame = page.locator(`${slot} iframe`);
  await expect.poll(async () => {
    const [outer, inner] = await Promise.all([
      frame.evaluate((node) => node.getBoundingClientRect().height),
      app.locator("body").evaluate((body) => body.scrollHeight),
    ]);
    return outer >= Math.min(inner, 700);
  }).toBe(true);
  await page.evaluate(() => document.fonts.ready);
}

test("marketplace screenshots show the sidebar, its in-app card and the nav bar with live incidents", async ({ page }) => {
  await mkdir(OUT, { recursive: true });
  await page.setViewportSize(SIZE);
  await page.goto(`${backend.url}/demo/zendesk#token=${encodeURIComponent(backend.api_token)}`);
  await page.fill("#open-input", String(backend.incident_ticket_id));
  await page.locator("#open-form button[type=submit]").click();
  await settle(page, "#sidebar-slot");
  const sidebar = path.join(OUT, "screenshot-0.png");
  await page.screenshot({ path: sidebar });
  expect(await pngSize(sidebar)).toEqual(SIZE);

  const inApp = page.frameLocator("#sidebar-slot iframe").locator(".gs-in-app");
  await expect(inApp.locator(".gs-stuck")).toBeVisible();
  await inApp.scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollBy(0, 120));  // the card whole, with the incident's end above it
  const session = path.join(OUT, "screenshot-2.png");
  await page.screenshot({ path: session });
  expect(await pngSize(session)).toEqual(SIZE);

  await page.click("#nav-app");
  await expect(page.locator("#ticket-pane")).toBeHidden();
  await settle(page, "#navbar-slot");
  const navbar = path.join(OUT, "screenshot-1.png");
  await page.screenshot({ path: navbar });
  expect(await pngSize(navbar)).toEqual(SIZE);
});
