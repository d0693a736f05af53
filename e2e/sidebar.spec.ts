// The built Zendesk app inside the fake Zendesk agent page (/demo/zendesk), against a real backend on loopback
// connected to a fake Zendesk: the app talks only the ZAF postMessage protocol to its host, which performs its
// requests like Zendesk's proxy (filling in the secure API token).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test, expect, type Page, type FrameLocator } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PYTHON = process.env.GROUNDSWELL_PYTHON ?? path.join(ROOT, ".venv", "bin", "python");

/** Gives the tenant a new sidebar secret (what an admin pastes into the app's settings) and returns it. */
function newSidebarSecret(): string {
  const script = [
    "import sys",
    "sys.path[:0] = ['.', 'e2e']",
    "from serve import SECRET_KEY",
    "from server import config",
    "from server.db import from_config",
    "from server.tenants import find_by_slug",
    "from server.zendesk.sidebar_auth import rotate_sidebar_secret",
    "db = from_config(config.load({'DATABASE_URL': sys.argv[1]}))",
    "with db.session() as s:",
    "    value = rotate_sidebar_secret(find_by_slug(s, sys.argv[2]), secret_key=SECRET_KEY)",
    "    s.commit()",
    "print(value)",
  ].join("\n");
  const run = spawnSync(PYTHON, ["-c", script, backend.database_url, backend.slug], { cwd: ROOT, encoding: "utf8" });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim();
}

let backend: Backend;
test.beforeAll(async () => {
  backend = await startBackend({ seed: "sidebar", settings: { DEMO_PAGES: "1" } });
});
test.afterAll(async () => { await backend.stop(); });

const auth = () => ({ Authorization: `Bearer ${backend.api_token}` });

interface FakeRequest { method: string; path: string; status: number; body: Record<string, any> }

async function zendeskRequests(page: Page): Promise<FakeRequest[]> {
  const response = await page.request.get(`${backend.zendesk_url}/__fake/requests`);
  return (await response.json()).requests as FakeRequest[];
}

/** Opens the agent page and the given ticket; returns the sidebar app's frame. */
let visits = 0;

/** A fresh load of the agent page (a new query string, so that a second visit is a real navigation). */
async function openAgentPage(page: Page): Promise<void> {
  await page.goto(`${backend.url}/demo/zendesk?visit=${++visits}#token=${backend.api_token}`);
}

async function openTicket(page: Page, ticketId: unknown): Promise<FrameLocator> {
  await openAgentPage(page);
  await page.getByLabel("Open ticket #").fill(String(ticketId));
  await page.getByRole("button", { name: "Open", exact: true }).click();
  return page.frameLocator('iframe[data-location="ticket_sidebar"]');
}

function watchDialogs(page: Page): string[] {
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => { dialogs.push(dialog.message()); void dialog.dismiss(); });
  return dialogs;
}

test("the agent page opens the ticket its address names, and takes the token out of the address", async ({ page }) => {
  await page.goto(`${backend.url}/demo/zendesk?visit=${++visits}#token=${backend.api_token}` +
                  `&ticket=${backend.incident_ticket_id}`);
  await expect(page.locator("#ticket-pane")).toBeVisible();
  await expect(page.locator("#ticket-title")).toHaveText(new RegExp(`^#${backend.incident_ticket_id}\\b`));
  const app = page.frameLocator('iframe[data-location="ticket_sidebar"]');
  await expect(app.locator(".gs-banner")).toHaveText(
    `Known issue: this ticket is one of incident #${backend.incident_id}'s tickets.`);
  expect(new URL(page.url()).hash).toBe(`#ticket=${backend.incident_ticket_id}`);
  // Back to the list: the address names no ticket; a reload shows the list without asking for the token again.
  await page.locator("#back-button").click();
  await expect(page.locator("#tickets-pane")).toBeVisible();
  expect(new URL(page.url()).hash).toBe("");
  await page.reload();
  await expect(page.locator("#tickets-pane")).toBeVisible();
  await expect(page.locator("#token-pane")).toBeHidden();
});

test("an incident ticket shows its incident, evidence, chart, representatives and the known-issue banner",
  async ({ page }) => {
    const app = await openTicket(page, backend.incident_ticket_id);
    const heading = app.getByRole("heading", { level: 2, name: new RegExp(`^Incident #${backend.incident_id}:`) });
    await expect(heading).toBeVisible();
    // The card right under the banner says what the incident is, once; the banner, how this ticket relates to it.
    await expect(app.locator(".gs-banner")).toHaveText(
      `Known issue: this ticket is one of incident #${backend.incident_id}'s tickets.`);
    const detail = await (await page.request.get(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
                                                 { headers: auth() })).json();
    // the sentence as the API has it, its UTC first-seen clock in the agent's zone (UTC here, en-US: 11:59 AM)
    const clock = new Date(detail.first_seen_at).toLocaleTimeString("en-US", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
    expect(detail.sentence).toMatch(/first seen \d\d:\d\d UTC/);
    const sentence = detail.sentence.replace(/\d\d:\d\d UTC/, clock);
    await expect(app.locator(".gs-incident .gs-sentence").first()).toHaveText(sentence);
    await expect(app.getByText(sentence, { exact: true })).toHaveCount(1);
    await expect(app.locator(".gs-relation")).toHaveCount(0);  // it is one of the incident's tickets
    await expect(app.locator(".gs-incident .gs-stats dd").first()).toHaveText(String(detail.ticket_count));
    await expect(app.locator("svg.gs-chart rect").first()).toBeAttached();
    expect(await app.locator(".gs-incident").first().locator("svg.gs-chart rect").count()).toBeGreaterThan(1);
    await expect(app.locator(".gs-reps li").first()).toBeVisible();
    // What the requester met in the product before writing: the stuck session first, its failing request.
    const inApp = app.getByRole("region", { name: "In the app before this ticket" });
    await expect(inApp.locator(".gs-session")).toHaveCount(2);
    const stuck = inApp.locator(".gs-session").first();
    await expect(stuck.locator(".gs-session-head")).toContainText("25 minutes before the ticket");
    await expect(stuck.locator(".gs-path")).toHaveText("/invoices/:id");
    await expect(stuck.locator(".gs-stuck")).toHaveText("Stuck");
    await expect(stuck.locator(".gs-signals")).toHaveText(": 1 rage click, 3 failed requests");
    await expect(stuck.locator(".gs-failures")).toHaveText("GET /api/invoices/:id/pdf 502 ×3");
    await expect(stuck.locator(".gs-nudge")).toContainText("Help shown: “Invoice PDF not downloading?” on /invoices/:id");
    await expect(inApp.locator(".gs-session").nth(1)).toContainText("No friction met; pages: /dashboard, /team.");
    // The host resized the iframe to the app's content.
    const height = Number(await page.locator('iframe[data-location="ticket_sidebar"]').getAttribute("data-height"));
    expect(height).toBeGreaterThan(200);

    // A representative ticket's number opens that ticket in the agent workspace (ZAF routeTo).
    const first = app.locator(".gs-reps li button").first();
    const number = (await first.textContent())!.replace("#", "");
    await first.click();
    await expect(page.locator("#ticket-title")).toContainText(`#${number}`);
  });

test("at 1280x800 the link action and its result show under the banner without scrolling, above the evidence",
  async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    // The incident as a busy one reads: a summary by Claude and three long representative tickets; then, once
    // the ticket is linked, the result line in the action's place.
    let linked = false;
    await page.route("**/api/v1/tickets/*/context*", async (route) => {
      const body = await (await route.fetch()).json();
      for (const inc of body.incidents ?? []) {
        inc.llm_summary = "Customers report that invoice PDFs download as blank pages since this afternoon. " +
          "Most write from the billing page after several tries, and some need the invoice for a payment today.";
        inc.evidence.representatives = [1, 2, 3].map((i) => ({
          ticket_id: String(5000 + i),
          text: `The invoice PDF downloads as a blank page (report ${i}). We tried two browsers and cleared the ` +
                "cache; our accountant needs it for this month's close. Please help, it blocks our team.",
        }));
        if (linked) Object.assign(inc, { problem_ticket_id: 4242, ticket_linked: true });
      }
      await route.fulfill({ json: body });
    });
    const app = await openTicket(page, backend.incident_ticket_id);
    const iframe = page.locator('iframe[data-location="ticket_sidebar"]');
    await expect(app.locator(".gs-reps li")).toHaveCount(3);
    await expect(app.locator(".gs-summary")).toBeVisible();

    /** Asserts that the element shows in the app's frame without scrolling, under the banner, over the evidence. */
    const seenFirst = async (locator: ReturnType<FrameLocator["locator"]>) => {
      expect(await page.evaluate(() => window.scrollY)).toBe(0);
      const frame = (await iframe.boundingBox())!;
      const box = (await locator.boundingBox())!;
      const banner = (await app.locator(".gs-banner").boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(banner.y + banner.height);
      expect(box.y + box.height).toBeLessThanOrEqual(Math.min(800, frame.y + frame.height));
      for (const evidence of [".gs-stats", ".gs-figure", ".gs-reps"]) {
        const below = (await app.locator(`.gs-incident ${evidence}`).first().boundingBox())!;
        expect(below.y).toBeGreaterThan(box.y + box.height);
      }
    };
    await seenFirst(app.getByRole("button", { name: /^(Create problem ticket and link|Link to problem #\d+)$/ }).first());

    linked = true;
    await page.getByRole("button", { name: /fires ticket.updated/ }).click();
    const result = app.locator(".gs-incident").first().locator(".gs-linked");
    await expect(result).toHaveText("Linked to problem #4242. Open ticket #4242");
    await seenFirst(result);
  });

test("beside a large spike the chart keeps the usual hours readable: the spike is cut at the scale, with its count",
  async ({ page }) => {
    // The backend's answer, its incident's hours made 2 to 4 tickets each and the last one 240.
    await page.route("**/api/v1/tickets/*/context*", async (route) => {
      const body = await (await route.fetch()).json();
      for (const inc of body.incidents ?? []) {
        const n = inc.volume.length;
        inc.volume = inc.volume.map((p: Record<string, unknown>, i: number) =>
          ({ ...p, tickets: i === n - 1 ? 240 : 2 + (i % 3) }));
      }
      await route.fulfill({ json: body });
    });
    const app = await openTicket(page, backend.incident_ticket_id);
    const chart = app.locator(".gs-incident").first().locator("svg.gs-chart");
    await expect(chart).toBeVisible();
    await expect(chart).toHaveAttribute("aria-label", /; (latest hour|this hour so far) 240,/);
    const cut = chart.locator("rect.gs-chart-bar-cut");
    await expect(cut).toHaveCount(1);
    await expect(cut.locator("title")).toHaveText("240");
    // The spike's real count shows, never the scale's "N+": over the chart for the hour so far, else beside it.
    const figure = app.locator(".gs-incident").first().locator(".gs-figure");
    const partial = await cut.evaluate((r) => r.classList.contains("gs-chart-bar-partial"));
    if (partial) {
      await expect(figure.locator(".gs-chart-now")).toHaveText("This hour so far: 240");
      await expect(figure.locator(".gs-chart-now")).toBeVisible();
      // ...and its bar reads strongest: solid, in the alert colour, not a faint outline.
      const look = await cut.evaluate((r) => {
        const s = getComputedStyle(r);
        return { fill: s.fill, opacity: s.fillOpacity, dash: s.strokeDasharray };
      });
      expect(look).toEqual({ fill: "rgb(180, 35, 24)", opacity: "1", dash: "none" });
    } else {
      await expect(chart.locator("text.gs-chart-cap")).toHaveText("240");
    }
    await expect(figure).not.toContainText("+");
    await expect(figure.locator(".gs-chart-ticks")).toHaveText(/^\d+ h ago\s*now$/);
    const heights = await chart.locator("rect:not(.gs-chart-bar-cut)")
      .evaluateAll((rects) => rects.map((r) => r.getBoundingClientRect().height));
    expect(heights.length).toBeGreaterThan(20);
    // The chart is 72 px high: uncut, an hour of 2 beside 240 would be a strip under 1 px.
    expect(Math.min(...heights)).toBeGreaterThan(10);
  });

test("the chart shades the incident's own hours, and mutes a rise at another time", async ({ page }) => {
  // The backend's answer with its incident's hours inside their band, but two: the sixth (before the incident)
  // and the one before last (during it), each one ticket above it; the incident first seen half way into the
  // third hour from the end. Times come from the answer's own hours, not from the clock.
  let hours = 0;
  await page.route("**/api/v1/tickets/*/context*", async (route) => {
    const body = await (await route.fetch()).json();
    const inc = body.incidents[0];
    const n = inc.volume.length;
    hours = n;
    const inside = (p: { lower: number; upper: number }) => Math.min(Math.floor(p.upper), Math.ceil(p.lower));
    inc.volume = inc.volume.map((p: { lower: number; upper: number }, i: number) =>
      ({ ...p, tickets: i === 5 || i === n - 2 ? Math.floor(p.upper) + 1 : inside(p) }));
    inc.first_seen_at = new Date(Date.parse(inc.volume[n - 3].start) + 1_800_000).toISOString();
    await route.fulfill({ json: body });
  });
  const app = await openTicket(page, backend.incident_ticket_id);
  const chart = app.locator(".gs-incident").first().locator("svg.gs-chart");
  await expect(chart).toBeVisible();
  await expect(chart).toHaveAttribute("aria-label", new RegExp(
    "\\. This incident: the last 3 hours, since [^;]+; 1 hour above the usual range\\. " +
    "1 hour above the usual range at another time\\.$"));
  // Shaded from half way into its first hour to the chart's right edge, in the span's colour.
  const box = (await chart.boundingBox())!;
  const shade = chart.locator("path.gs-chart-span");
  const span = (await shade.boundingBox())!;
  expect(Math.abs(span.x - (box.x + box.width * (hours - 2.5) / hours))).toBeLessThan(2);
  expect(Math.abs(span.x + span.width - (box.x + box.width))).toBeLessThan(1);
  expect(await shade.evaluate((e) => getComputedStyle(e).fill)).toBe("rgb(253, 229, 189)");
  // The incident's hour above its band in the alert colour; the earlier one muted.
  const fills = await chart.locator("rect").evaluateAll((rects) => rects.map((r) => getComputedStyle(r).fill));
  expect(fills[hours - 2]).toBe("rgb(180, 35, 24)");
  expect(fills[5]).toBe("rgb(213, 220, 227)");
  const key = app.locator(".gs-incident").first().locator(".gs-chart-key");
  await expect(key).toBeVisible();
  await expect(key).toHaveText(/^this incident\s*above the usual range at another time$/);
});

test("on a phone the agent page stacks the app under the ticket and never scrolls sideways", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const app = await openTicket(page, backend.incident_ticket_id);
  await expect(app.locator(".gs-incident").first()).toBeVisible();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(390);
  const main = (await page.locator(".zd-ticket-main").boundingBox())!;
  const side = (await page.locator("#sidebar-slot").boundingBox())!;
  expect(main.width).toBeGreaterThan(300);  // the title reads as a line, not a column of single characters
  expect(side.width).toBeGreaterThan(300);
  expect(side.y).toBeGreaterThanOrEqual(main.y + main.height);  // the app's panel under the ticket
  const title = (await page.locator("#ticket-title").boundingBox())!;
  expect(title.height).toBeLessThan(120);
  // The workspace nav is a bar across the top, above the ticket.
  const nav = (await page.locator(".zd-nav").boundingBox())!;
  expect(nav.width).toBeGreaterThan(300);
  expect(nav.y + nav.height).toBeLessThanOrEqual(main.y);
});

test("on a phone the ticket list keeps each subject in its own column, beside the status", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await openAgentPage(page);
  const rows = page.locator("#ticket-list button");
  await expect(rows.first()).toBeVisible();
  for (let i = 0; i < Math.min(await rows.count(), 10); i++) {
    const status = (await rows.nth(i).locator(".zd-ticket-status").boundingBox())!;
    const what = (await rows.nth(i).locator(".zd-ticket-what").boundingBox())!;
    expect(what.x).toBeGreaterThanOrEqual(status.x + status.width);  // a long subject wraps under itself
    expect(what.x + what.width).toBeLessThanOrEqual(390);
  }
});

test("on a phone no focus ring is drawn around a ticket's title unless the agent came with the keyboard",
  async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    const title = page.locator("#ticket-title");
    const ring = () => title.evaluate((t) => ({ focused: t === document.activeElement,
                                                 outline: getComputedStyle(t).outlineStyle }));
    // Opened by its address as the page loads: the title is not focused, no ring.
    await page.goto(`${backend.url}/demo/zendesk?visit=${++visits}#token=${backend.api_token}` +
                    `&ticket=${backend.incident_ticket_id}`);
    await expect(title).toHaveText(new RegExp(`^#${backend.incident_ticket_id}\\b`));
    expect(await ring()).toEqual({ focused: false, outline: "none" });
    // Opened from the list with the mouse: the focus moves to the title, drawn without a ring.
    await page.locator("#back-button").click();
    await page.locator("#incident-list button").first().click();
    expect(await ring()).toEqual({ focused: true, outline: "none" });
    // With the keyboard: the ring shows where the focus went.
    await page.locator("#back-button").click();
    await page.getByLabel("Open ticket #").fill(String(backend.incident_ticket_id));
    await page.getByLabel("Open ticket #").press("Enter");
    expect((await ring()).focused).toBe(true);
    expect((await ring()).outline).not.toBe("none");
  });

test("the API token never reaches the app's frame; its requests carry only the placeholder", async ({ page }) => {
  const sent: string[] = [];
  page.on("request", (request) => {
    if (request.url().includes("/api/v1/")) sent.push(request.headers()["authorization"] ?? "");
  });
  await openAgentPage(page);
  // Record what the app posts to its host (Zendesk) over postMessage.
  await page.evaluate(() => {
    (window as any).__fromApp = [];
    window.addEventListener("message", (e) => (window as any).__fromApp.push(String(e.data)));
  });
  await page.getByLabel("Open ticket #").fill(String(backend.incident_ticket_id));
  await page.getByRole("button", { name: "Open", exact: true }).click();
  const app = page.frameLocator('iframe[data-location="ticket_sidebar"]');
  await expect(app.locator(".gs-incident").first()).toBeVisible();
  const fromApp = await page.evaluate(() => (window as any).__fromApp as string[]);
  const requestMessages = fromApp.filter((m) => m.includes('"key":"request:'));
  expect(requestMessages.length).toBeGreaterThan(0);
  expect(requestMessages.every((m) => m.includes("Bearer {{setting.api_token}}") && m.includes('"secure":true')))
    .toBe(true);
  expect(fromApp.some((m) => m.includes(backend.api_token))).toBe(false);
  // The host's proxy filled the token in on the way to the backend.
  expect(sent.length).toBeGreaterThan(0);
  expect(sent.every((h) => h === `Bearer ${backend.api_token}`)).toBe(true);
  const frameText = await app.locator("html").evaluate(() => document.documentElement.outerHTML + location.href);
  expect(frameText).not.toContain(backend.api_token);
  const appOrigin = await page.evaluate(() => (window as any).__zafHost.appOrigin as string);
  expect(appOrigin).not.toBe(new URL(backend.url).origin); // the app runs on another origin, as on Zendesk
});

test("linking creates the problem ticket in Zendesk once and makes the ticket one of its incidents",
  async ({ page }) => {
    const app = await openTicket(page, backend.incident_ticket_id);
    // The agent page shows the ticket's fields as the fake Zendesk has them.
    await expect(page.locator("#ticket-meta")).toHaveText("Status: open · Type: question");
    const link = app.getByRole("button", { name: "Create problem ticket and link" }).first();
    await link.click();
    const status = app.getByRole("status").first();
    await expect(status).toContainText(`ticket #${backend.incident_ticket_id} is now one of its incidents`);
    // The focus went to the incident's heading, drawn without a ring after a click (a key press shows one).
    const heading = app.locator(`h2#gs-incident-${backend.incident_id}`);
    await expect(heading).toBeFocused();
    await expect(heading).toHaveCSS("outline-style", "none");  // (re-read: a refresh may draw the card again)
    const requests = await zendeskRequests(page);
    const created = requests.filter((r) => r.method === "POST" && /^\/api\/v2\/tickets(\.json)?$/.test(r.path));
    expect(created).toHaveLength(1);
    expect(created[0].body.ticket.type).toBe("problem");
    const problemId = Number((await status.textContent())!.match(/#(\d+) created/)![1]);
    const update = requests.find((r) => r.method === "PUT" &&
      r.path.replace(/\.json$/, "") === `/api/v2/tickets/${backend.incident_ticket_id}`);
    expect(update?.body.ticket).toMatchObject({ type: "incident", problem_id: problemId });
    const ticket = await (await page.request.get(`${backend.zendesk_url}/__fake/tickets/${backend.incident_ticket_id}`)).json();
    expect(ticket.ticket).toMatchObject({ type: "incident", problem_id: problemId });
    await expect(app.getByText(`Linked to problem #${problemId}.`)).toBeVisible();
    // ...and the open ticket shows it, as Zendesk would: an incident of that problem.
    const incidentMeta = `Status: open · Type: incident · Linked problem: #${problemId}`;
    await expect(page.locator("#ticket-meta")).toHaveText(incidentMeta);

    const updated = `Ticket #${backend.incident_ticket_id} was updated in Zendesk: ${incidentMeta}.`;
    await expect(page.locator("#host-status")).toHaveText(updated);

    // Another ticket of the same incident (opened from the list, on the same page) links to the same problem
    // ticket; no second one is created. The page's line about the first ticket goes when the other opens.
    await page.locator("#back-button").click();
    await page.getByLabel("Open ticket #").fill(String(backend.xss_ticket_id));
    await page.getByRole("button", { name: "Open", exact: true }).click();
    const other = page.frameLocator('iframe[data-location="ticket_sidebar"]');
    await expect(page.locator("#ticket-title")).toContainText(`#${backend.xss_ticket_id}`);
    await expect(page.locator("#ticket-meta")).toHaveText("Status: open · Type: question");
    await expect(page.locator("#host-status")).not.toContainText(`#${backend.incident_ticket_id}`);
    await other.getByRole("button", { name: `Link to problem #${problemId}` }).first().click();
    await expect(other.getByRole("status").first()).toContainText(`is now an incident of problem #${problemId}`);
    await expect(page.locator("#ticket-meta")).toHaveText(incidentMeta);
    // Opened again later, it still reads as an incident: the page shows Zendesk's copy, not a guess; and the
    // sidebar says it is linked instead of offering the link again.
    const again = await openTicket(page, backend.incident_ticket_id);
    await expect(page.locator("#ticket-meta")).toHaveText(incidentMeta);
    await expect(again.locator(".gs-incident").first().locator(".gs-linked"))
      .toHaveText(`Linked to problem #${problemId}. Open ticket #${problemId}`);
    await expect(again.getByRole("button", { name: /Link to problem|Create problem ticket/ })).toHaveCount(0);
    const after = await zendeskRequests(page);
    expect(after.filter((r) => r.method === "POST" && /^\/api\/v2\/tickets(\.json)?$/.test(r.path))).toHaveLength(1);
  });

test("feedback from the sidebar reaches the backend", async ({ page }) => {
  const app = await openTicket(page, backend.incident_ticket_id);
  const useful = app.getByRole("button", { name: "Useful" }).first();
  await useful.click();
  await expect(useful).toHaveAttribute("aria-pressed", "true");
  await expect(app.getByRole("status").first()).toHaveText("Thanks: marked useful.");
  const detail = await (await page.request.get(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
                                               { headers: auth() })).json();
  expect(detail.useful_count).toBeGreaterThanOrEqual(1);
  expect(detail.feedback.some((f: { verdict: string; by: string }) =>
    f.verdict === "useful" && f.by === "Ada Agent <ada.agent@example.com>")).toBe(true);
  // Opened again (a reload), the agent's own verdict is still the pressed one.
  const again = await openTicket(page, backend.incident_ticket_id);
  await expect(again.getByRole("button", { name: "Useful" }).first()).toHaveAttribute("aria-pressed", "true");
  await expect(again.getByRole("button", { name: "Noise" }).first()).toHaveAttribute("aria-pressed", "false");
});

test("a refresh that fails says why and from when the answer is; Try again brings the current one", async ({ page }) => {
  const app = await openTicket(page, backend.incident_ticket_id);
  await expect(app.locator(".gs-incident").first()).toBeVisible();
  // The server goes away; a ticket update makes the app ask again.
  await page.route("**/api/v1/tickets/*/context*", (route) => route.abort("connectionrefused"));
  await page.getByRole("button", { name: /fires ticket.updated/ }).click();
  const note = app.locator(".gs-stale");
  await expect(note).toContainText(/^Could not refresh; this is the answer from \d\d:\d\d [AP]M\./);
  await expect(note).toContainText("The Groundswell server did not answer. Check that it is running and reachable.");
  await expect(app.locator(".gs-incident").first()).toBeVisible();  // the last answer stays
  // The server is back: Try again brings the current answer now, not at the next minute's refresh.
  await page.unroute("**/api/v1/tickets/*/context*");
  await note.getByRole("button", { name: "Try again" }).click();
  await expect(note).toHaveCount(0);
  await expect(app.getByRole("status").first()).toHaveText("Refreshed; this is the current answer.");
  await expect(app.locator(`h2#gs-incident-${backend.incident_id}`)).toBeFocused();
});

test("a ticket whose text is markup renders it as text", async ({ page }) => {
  const dialogs = watchDialogs(page);
  const xss = "<img src=x onerror=alert(1)>";
  await openAgentPage(page);
  // The agent page lists the tickets of live incidents first, each marked with its incident.
  const live = page.locator("#incident-list button");
  await expect(live.first()).toBeVisible();
  for (const text of await live.allTextContents()) expect(text).toContain(`incident #${backend.incident_id}`);
  // The status line counts the marked rows of the newest tickets, not the length of that capped list.
  const rows = await page.locator("#ticket-list button").count();
  const marked = await page.locator("#ticket-list .zd-badge").count();
  await expect(page.locator("#host-status")).toHaveText(`${rows} newest tickets, ${marked} of them in a live incident.`);
  // The host's own ticket list shows the subject as text too.
  const listed = page.locator("#ticket-list button", { hasText: xss });
  await expect(listed).toHaveCount(1);
  await listed.click();
  const app = page.frameLocator('iframe[data-location="ticket_sidebar"]');
  await expect(app.locator(".gs-reps li", { hasText: xss }).first()).toBeVisible();
  expect(await app.locator("img").count()).toBe(0);
  expect(await page.locator("img").count()).toBe(0);
  await expect(page.locator("#ticket-title")).toContainText(xss);
  await page.waitForTimeout(300);
  expect(dialogs).toEqual([]);
});

test("a ticket Groundswell has not seen, and a ticket with a topic but no incident", async ({ page }) => {
  const unseen = await openTicket(page, backend.unknown_ticket_id);
  await expect(unseen.getByText("Groundswell has not seen this ticket yet.")).toBeVisible();
  const plain = await openTicket(page, backend.plain_ticket_id);
  await expect(plain.getByRole("heading", { name: /^Topic:/ })).toBeVisible();
  await expect(plain.getByText("This ticket is not part of a live incident.")).toBeVisible();
  await expect(plain.locator(".gs-banner")).toHaveCount(0);
  // Its organization wrote far more than on the same weekday before: the account card says so.
  const account = plain.locator(".gs-account");
  await expect(account).toContainText(`This customer's organization ${backend.plain_organization_id}`);
  await expect(account).toContainText("Writing more than usual");
  await expect(account).toContainText(/tickets in the last day \(against the same weekday\); expected \d/);
  // The incident ticket's organization is calm: no card.
  const calm = await openTicket(page, backend.incident_ticket_id);
  await expect(calm.locator(".gs-incident").first()).toBeVisible();
  await expect(calm.locator(".gs-account")).toHaveCount(0);
});

/** The incident topic's tickets that are not among its tickets, by what their context says: written well before
 * it began (shown no incident), or shortly before (shown the incident as sharing their topic). */
async function topicOnlyTickets(page: Page): Promise<{ old: string[]; near: string[] }> {
  const incident = await (await page.request.get(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
                                                 { headers: auth() })).json();
  const mine = new Set<string>(incident.ticket_ids);
  const old: string[] = [], near: string[] = [];
  for (let id = 1001; id < Number(backend.incident_ticket_id); id++) {
    if (mine.has(String(id))) continue;
    const ctx = await (await page.request.get(`${backend.url}/api/v1/tickets/${id}/context`, { headers: auth() })).json();
    if (ctx.topic?.id !== incident.topic.id) continue;
    if (ctx.incidents.length === 0) old.push(String(id));
    else if (ctx.incidents.every((i: { attached: boolean }) => !i.attached)) near.push(String(id));
  }
  return { old, near };
}

test("a ticket written well before the incident began is not shown as part of it", async ({ page }) => {
  const { old, near } = await topicOnlyTickets(page);
  expect(old.length).toBeGreaterThan(0);
  const app = await openTicket(page, old[0]);
  await expect(app.getByRole("heading", { name: /^Topic:/ })).toBeVisible();
  await expect(app.getByText("This ticket is not part of a live incident.")).toBeVisible();
  await expect(app.locator(".gs-banner, .gs-incident")).toHaveCount(0);
  await expect(app.getByRole("button", { name: /problem/ })).toHaveCount(0);

  // Written a few hours before it began, on its topic: the incident shows, said to share the topic only, and
  // linking asks first.
  test.skip(near.length === 0, "the sample has no ticket of the topic shortly before the rise");
  const close = await openTicket(page, near[0]);
  const card = close.locator(".gs-incident").first();
  await expect(card.locator(".gs-relation")).toHaveText(
    `Same topic as incident #${backend.incident_id}; this ticket is not one of its tickets.`);
  await expect(close.locator(".gs-banner")).toHaveCount(0);
  await card.getByRole("button", { name: /Create problem ticket and link|Link to problem #/ }).click();
  const confirm = close.getByRole("group", { name: /is not one of incident #\d+'s tickets/ });
  await expect(confirm).toBeVisible();
  await expect(confirm.getByRole("button", { name: "Link anyway" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(confirm).toHaveCount(0);
});

test("a refresh keeps the topic name the agent is typing", async ({ page }) => {
  await page.clock.install();
  // Each answer a little different, as a live incident's are: every refresh draws the sidebar again.
  let answers = 0;
  await page.route("**/api/v1/tickets/*/context*", async (route) => {
    const body = await (await route.fetch()).json();
    answers += 1;
    for (const inc of body.incidents ?? []) inc.ticket_count += answers;
    await route.fulfill({ json: body });
  });
  const app = await openTicket(page, backend.incident_ticket_id);
  const count = app.locator(".gs-incident .gs-stats dd").first();
  await expect(count).toBeVisible();
  const before = await count.textContent();
  await app.getByRole("button", { name: "Rename topic" }).first().click();
  const input = app.getByRole("textbox", { name: "Topic name" });
  await expect(input).toBeFocused();
  await page.keyboard.type("Blank invoice PD");
  await page.clock.fastForward(65_000);  // the minute's refresh
  await expect(count).not.toHaveText(before!);
  await expect(input).toHaveValue("Blank invoice PD");
  await expect(input).toBeFocused();
  await page.keyboard.type("Fs");
  await expect(input).toHaveValue("Blank invoice PDFs");
  await page.keyboard.press("Escape");  // leave the topic's name as the other tests expect it
});

test("keyboard: rename the topic and acknowledge without a mouse; ticket.updated refreshes", async ({ page }) => {
  const app = await openTicket(page, backend.incident_ticket_id);
  const rename = app.getByRole("button", { name: "Rename topic" }).first();
  await rename.focus();
  await page.keyboard.press("Enter");
  const input = app.getByRole("textbox", { name: "Topic name" });
  await expect(input).toBeFocused();
  // Customers read the name too: the field says where.
  await expect(input).toHaveAccessibleDescription(
    "Customers see this name in your product's known-issue banner, on the pages an open incident on this topic " +
    "affects. Leave it empty to go back to the keyword label.");
  // The topic goes by its keyword label, words from its tickets: the field opens empty, the label its placeholder,
  // so that saving it as it opens does not show those words to customers.
  const named = await (await page.request.get(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
                                              { headers: auth() })).json();
  const topic = await (await page.request.get(`${backend.url}/api/v1/topics/${named.topic.id}`,
                                              { headers: auth() })).json();
  expect(topic.name).toBeNull();
  await expect(input).toHaveValue("");
  await expect(input).toHaveAttribute("placeholder", topic.label);
  await page.keyboard.type("Blank invoice PDFs");
  await expect(input).toHaveValue("Blank invoice PDFs");
  await page.keyboard.press("Enter");
  await expect(app.getByRole("status").first()).toHaveText("Topic renamed to “Blank invoice PDFs”.");
  await expect(app.getByRole("button", { name: "Rename topic" }).first()).toBeFocused();
  await expect(app.locator(".gs-stats dd", { hasText: "Blank invoice PDFs" }).first()).toBeVisible();

  // Tab to Acknowledge and press Space.
  const ack = app.getByRole("button", { name: "Acknowledge" }).first();
  for (let i = 0; i < 10 && !(await ack.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press("Shift+Tab");
  }
  await expect(ack).toBeFocused();
  await page.keyboard.press("Space");
  await expect(app.getByRole("status").first()).toHaveText(`Incident #${backend.incident_id} acknowledged.`);
  const heading = app.locator(`h2#gs-incident-${backend.incident_id}`);
  await expect(heading).toBeFocused();
  await expect(heading).toHaveCSS("outline-style", "solid");  // (re-read: a refresh may draw the card again)
  await expect(app.locator(".gs-chip").first()).toHaveText("Acknowledged");
  const detail = await (await page.request.get(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
                                               { headers: auth() })).json();
  expect(detail.status).toBe("acknowledged");

  // A ticket update in the agent workspace makes the app ask again.
  const before = await page.evaluate(() => (window as any).__zafHost.requests.length as number);
  await page.getByRole("button", { name: /fires ticket.updated/ }).click();
  await expect.poll(() => page.evaluate(() => (window as any).__zafHost.requests.length as number))
    .toBeGreaterThan(before);
});

test("an empty topic name gives the topic its keyword label back", async ({ page }) => {
  const detail = await (await page.request.get(`${backend.url}/api/v1/incidents/${backend.incident_id}`,
                                               { headers: auth() })).json();
  const topicUrl = `${backend.url}/api/v1/topics/${detail.topic.id}`;
  const before = await (await page.request.get(topicUrl, { headers: auth() })).json();
  await page.request.patch(topicUrl, { headers: auth(), data: { name: "Blank invoice PDFs" } });  // a name to take away
  const app = await openTicket(page, backend.incident_ticket_id);
  await app.getByRole("button", { name: "Rename topic" }).first().click();
  const input = app.getByRole("textbox", { name: "Topic name" });
  await expect(input).toBeFocused();
  await expect(input).toHaveValue("Blank invoice PDFs");
  await input.fill("");
  await page.keyboard.press("Enter");
  await expect(app.getByRole("status").first()).toHaveText("Topic name removed; it goes by its keyword label again.");
  const after = await (await page.request.get(topicUrl, { headers: auth() })).json();
  expect(after.name).toBeNull();
  expect(after.display_name).toBe(after.label);
  await expect(app.locator(".gs-stats dd", { hasText: after.label }).first()).toBeVisible();
  // leave the topic's name as it was for the other tests
  await page.request.patch(topicUrl, { headers: auth(), data: { name: before.name } });
});

test("the nav bar counts the incidents by status, and each card opens its incident on the incidents page",
  async ({ page, context }) => {
    await openAgentPage(page);
    await page.getByRole("button", { name: "Groundswell" }).click();
    const nav = page.frameLocator('iframe[data-location="nav_bar"]');
    await expect(nav.getByRole("heading", { level: 1, name: "Active incidents" })).toBeVisible();
    const heading = nav.getByRole("heading", { level: 2, name: new RegExp(`^Incident #${backend.incident_id}:`) });
    await expect(heading).toBeVisible();
    // The incident's problem ticket, made by the linking test above; made here when that test did not run
    // in this backend (run alone, or after a failure restarted the worker with a fresh one).
    const listed = async () => (await page.request.get(`${backend.url}/api/v1/incidents?status=open,acknowledged`,
                                                       { headers: auth() })).json();
    if (!(await listed()).incidents.find((i: { id: number }) => i.id === backend.incident_id).problem_ticket_id) {
      const linked = await page.request.post(`${backend.url}/api/v1/incidents/${backend.incident_id}/problem-ticket`,
        { headers: auth(), data: { ticket_id: backend.incident_ticket_id, by: "Ana" } });
      expect(linked.status()).toBe(200);
      await page.reload();
      await page.getByRole("button", { name: "Groundswell" }).click();
    }
    const list = await listed();
    const statuses: string[] = list.incidents.map((i: { status: string }) => i.status);
    const open = statuses.filter((s) => s === "open").length;
    const acknowledged = statuses.filter((s) => s === "acknowledged").length;
    const plural = (n: number, what: string) => `${n} ${what} incident${n === 1 ? "" : "s"}.`;
    await expect(nav.getByRole("status")).toHaveText(
      open && acknowledged ? `${open} open, ${acknowledged} acknowledged.`
        : acknowledged ? plural(acknowledged, "acknowledged") : plural(open, "open"));

    // The incident's problem ticket opens from its card.
    const card = nav.locator(".gs-nav-item", { has: heading });
    const problem = list.incidents.find((i: { id: number }) => i.id === backend.incident_id).problem_ticket_id;
    expect(problem).toEqual(expect.any(Number));
    await expect(card.getByRole("button", { name: `Open problem ticket #${problem}` })).toBeVisible();

    // A click on the card (not only its title) opens the incident on the server's page, in a new tab.
    const box = (await card.boundingBox())!;
    const [tab] = await Promise.all([context.waitForEvent("page"),
                                     card.click({ position: { x: box.width / 2, y: box.height - 8 } })]);
    await tab.waitForLoadState();
    expect(tab.url()).toBe(`${backend.url}/incidents#id=${backend.incident_id}`);
    // That tab has no token yet: the page asks for it, then shows the incident.
    await tab.getByLabel("API token").fill(backend.api_token);
    await tab.getByLabel("API token").press("Enter");
    await expect(tab.locator("#incident-detail h2")).toContainText(`(#${backend.incident_id})`);
    // The incidents page names the problem ticket too, a link to it (in the demo, on the agent page).
    const named = tab.locator("#incident-detail .problem-ticket");
    await expect(named).toHaveText(`Problem ticket #${problem}`);
    await expect(named.getByRole("link", { name: `#${problem}` })).toHaveAttribute("href", /#ticket=\d+$/);
    await tab.close();
  });

test("with a tenant and a sidebar secret, Zendesk's proxy signs each request as a JWT the backend accepts",
  async ({ page }) => {
    const secret = newSidebarSecret();
    const sent: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/api/v1/tickets/")) sent.push(request.headers()["authorization"] ?? "");
    });
    await page.goto(`${backend.url}/demo/zendesk?tenant=${backend.slug}&visit=${++visits}` +
                    `#token=${backend.api_token}&sidebar_secret=${encodeURIComponent(secret)}`);
    await page.getByLabel("Open ticket #").fill(String(backend.incident_ticket_id));
    await page.getByRole("button", { name: "Open", exact: true }).click();
    const app = page.frameLocator('iframe[data-location="ticket_sidebar"]');
    await expect(app.getByRole("heading", { level: 2, name: new RegExp(`^Incident #${backend.incident_id}:`) }))
      .toBeVisible();
    expect(sent.length).toBeGreaterThan(0);
    for (const header of sent) {
      expect(header).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      expect(header).not.toContain(backend.api_token);
      const claims = JSON.parse(Buffer.from(header.split(".")[1], "base64url").toString());
      expect(claims).toMatchObject({ iss: backend.slug, aud: "groundswell" });
      expect(claims.exp - claims.iat).toBe(300);
    }

    // A wrong secret signs tokens the backend refuses; the agent is told to have the settings checked.
    await page.goto(`${backend.url}/demo/zendesk?tenant=${backend.slug}&visit=${++visits}` +
                    `#token=${backend.api_token}&sidebar_secret=not-the-secret`);
    await page.getByLabel("Open ticket #").fill(String(backend.incident_ticket_id));
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expect(app.getByRole("alert")).toContainText("refused the app's credentials");
  });
