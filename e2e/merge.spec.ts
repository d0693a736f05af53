// Merging one incident into another on the incidents page, in a real browser against a real backend
// holding two open spikes and a friction incident: the choice offers only incidents of the same family,
// a second click confirms, and both incidents then say where the other went, each a link to the other; the merge
// is then undone, from the merged one and from the one that stayed, each said as what it is (not "New incident").
// The backend runs no detector, so nothing moves the tickets: the page says they are moving, reads the incidents
// again each second (the page's clock, run on demand) and says so plainly when they have not moved after 20 s.
import { test, expect } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;

test.beforeAll(async () => {
  backend = await startBackend({ seed: "incidents", options: { incidents: "2" } });
});

test.afterAll(async () => { await backend.stop(); });

test("merging the second spike into the first: confirmed by a second click, then each names the other", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  const [first, second] = backend.incident_ids as number[];
  const friction = backend.friction_incident_id as number;

  await page.clock.install();
  await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${second}`);
  const detail = page.locator("#incident-detail");
  await expect(detail.locator("h2")).toContainText(`(#${second})`);
  await page.clock.pauseAt(Date.now() + 5_000);  // the follow-up readings, one second at a time
  const into = detail.locator("#merge-into");
  await expect(into.locator(`option[value="${first}"]`)).toHaveCount(1);
  await expect(into.locator(`option[value="${friction}"]`)).toHaveCount(0); // in-app friction does not merge
  await expect(into.locator(`option[value="${second}"]`)).toHaveCount(0);

  await into.selectOption(String(first));
  const merge = detail.getByRole("button", { name: "Merge into it" });
  await merge.click();
  await expect(detail.locator(".detail-error")).toContainText("Enter your name first");
  await page.locator("#by").fill("Ana");
  await merge.click();
  await expect(detail.locator('[data-action="merge"]')).toHaveText(`Merge #${second} into #${first}? Click again`);
  await detail.locator('[data-action="merge"]').click();

  // The one that stayed is shown, naming the one merged into it, with its Undo; the merge is said as one, its
  // tickets on their way. The other is resolved and says where it went.
  await expect(detail.locator("h2")).toContainText(`(#${first})`);
  const moving = `Merged #${second} into #${first} by Ana; its tickets are moving to #${first}, the counts update ` +
    "in a few seconds.";
  await expect(page.locator("#incident-news")).toHaveText(moving);
  await expect(detail.locator(".detail-done")).toHaveText(moving);
  await expect(detail.locator(".merge-note")).toHaveText(`Merged into this one: #${second} Undo merge.`);
  // No detector moves them here: after 20 s of readings the page says so.
  await expect(async () => {
    await page.clock.runFor(1_000);
    await expect(detail.locator(".detail-done")).toHaveText(`Merged #${second} into #${first} by Ana, but the ` +
      "detector has not moved its tickets yet: the counts here leave them out until it does.", { timeout: 200 });
  }).toPass({ intervals: [0], timeout: 30_000 });
  await expect(detail.getByRole("button", { name: `Undo merge of #${second}` })).toBeVisible();
  await expect(page.locator(`button.incident-item[data-id="${second}"]`)).toHaveCount(0); // not active any more
  await detail.locator(`.merge-note button[data-related="${second}"]`).click();
  await expect(detail.locator("h2")).toContainText(`(#${second})`);
  await expect(detail.locator(".merge-note")).toContainText(`Merged into #${first}`);
  await expect(detail.locator(".status")).toContainText("resolved");
  await expect(detail.locator("#merge-into")).toHaveCount(0);
  await expect(detail.locator('[data-action="status-open"]')).toHaveCount(0); // "Undo merge" brings it back

  // A mistaken merge is undone from the merged incident: it is open again and active, and the one that
  // stayed no longer lists it.
  await page.locator("#by").fill("Lee");
  await detail.getByRole("button", { name: "Undo merge" }).click();
  await expect(detail.locator(".detail-done")).toHaveText(`Merge undone by Lee: incident #${second} is open again; ` +
    `its tickets are moving back from #${first}, the counts update in a few seconds.`);
  // A second later both are read again: #${first} does not hold #${second}'s tickets (they never moved here).
  await page.clock.runFor(1_000);
  await expect(detail.locator(".detail-done")).toHaveText(
    `Merge undone by Lee: incident #${second} is open again and has its tickets back from #${first}.`);
  await expect(detail.locator(".status")).toContainText("open");
  await expect(detail.locator(".merge-note")).toHaveCount(0);
  await expect(detail.locator("h2")).toBeFocused(); // its button went away: the heading holds the keyboard
  await expect(detail.locator(".history")).toContainText(`Merge into incident #${first} undone by Lee`);
  await expect(page.locator(`button.incident-item[data-id="${second}"]`)).toHaveCount(1);
  await expect(page.locator("#incident-news")).toHaveText(/^Merge undone by Lee: incident #\d+ is open again/);
  await page.locator(`button.incident-item[data-id="${first}"]`).click();
  await expect(detail.locator("h2")).toContainText(`(#${first})`);
  await expect(detail.locator(".merge-note")).toHaveCount(0);
  expect(problems).toEqual([]);
});

test("a merge is undone from the incident that stayed: the other is active again, and that is what is said",
  async ({ page }) => {
    const [first, second] = backend.incident_ids as number[];
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${second}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${second})`);
    await page.locator("#by").fill("Ana");
    await expect(page.locator(`button.incident-item[data-id="${second}"]`)).toHaveCount(1);
    await detail.locator("#merge-into").selectOption(String(first));
    await detail.locator('[data-action="merge"]').click();
    await detail.locator('[data-action="merge"]').click();
    await expect(detail.locator("h2")).toContainText(`(#${first})`);
    await expect(page.locator(`button.incident-item[data-id="${second}"]`)).toHaveCount(0);

    await page.locator("#by").fill("Lee");
    await detail.getByRole("button", { name: `Undo merge of #${second}` }).click();
    // Said done at once: the answers show #${first} without #${second}'s tickets (no detector moved them here).
    const said = `Merge undone by Lee: #${second} is open again, apart from #${first}, with its own tickets.`;
    await expect(detail.locator(".detail-done")).toHaveText(said);
    await expect(detail.locator("h2")).toContainText(`(#${first})`);  // the one that stayed stays open
    await expect(detail.locator(".merge-note")).toHaveCount(0);
    await expect(detail.locator("h2")).toBeFocused();
    // Back in the active list, and not announced as a new incident.
    await expect(page.locator(`button.incident-item[data-id="${second}"]`)).toHaveCount(1);
    await expect(page.locator("#incident-news")).toHaveText(said);
    await page.locator(`button.incident-item[data-id="${second}"]`).click();
    await expect(detail.locator(".status")).toHaveText("open");
    await expect(detail.locator(".merge-note")).toHaveCount(0);
  });

test("a merge target chosen and armed survives a refresh that brings a change, with the keyboard on its button",
  async ({ page }) => {
    const [first, second] = backend.incident_ids as number[];
    const headers = { Authorization: `Bearer ${backend.api_token}` };
    await page.clock.install();  // the page's 15 s refresh, run on demand
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${second}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator("h2")).toContainText(`(#${second})`);
    await page.locator("#by").fill("Ana");
    const into = detail.locator("#merge-into");
    await expect(into.locator(`option[value="${first}"]`)).toHaveCount(1);
    await into.selectOption(String(first));
    const merge = detail.locator('[data-action="merge"]');
    await merge.click();
    await expect(merge).toHaveText(`Merge #${second} into #${first}? Click again`);
    await expect(merge).toBeFocused();

    // Someone else acknowledges it meanwhile; the refresh says so and leaves the merge as it was.
    expect((await page.request.patch(`${backend.url}/api/v1/incidents/${second}/status`,
      { headers, data: { status: "acknowledged", by: "Lee" } })).ok()).toBe(true);
    await page.clock.fastForward(16_000);
    await expect(page.locator("#incident-news")).toHaveText(`Incident #${second} is acknowledged now (Lee).`);
    await expect(merge).toHaveText(`Merge #${second} into #${first}? Click again`);
    await expect(merge).toBeFocused();
    await expect(into).toHaveValue(String(first));
    await expect(detail.locator(".status")).toHaveText("open");  // drawn once they are done

    // Changing their mind: the choice back to none and the keyboard elsewhere, the change is drawn.
    await into.selectOption("");
    await page.locator("h1").click();
    await expect(detail.locator(".status")).toHaveText("acknowledged");
    await expect(detail.getByRole("button", { name: "Back to open" })).toBeVisible();
    expect((await page.request.patch(`${backend.url}/api/v1/incidents/${second}/status`,
      { headers, data: { status: "open", by: "Lee" } })).ok()).toBe(true);
  });

test("a focused button does not hold the open incident back: the change is drawn and the keyboard stays on it",
  async ({ page }) => {
    const [, second] = backend.incident_ids as number[];
    const headers = { Authorization: `Bearer ${backend.api_token}` };
    await page.clock.install();
    await page.goto(`${backend.url}/incidents#token=${backend.api_token}&id=${second}`);
    const detail = page.locator("#incident-detail");
    await expect(detail.locator(".status")).toHaveText("open");
    await page.waitForLoadState("networkidle");  // the first answers drawn (the refresh timer is held)
    await detail.locator('[data-action="useful"]').focus();
    await expect(detail.locator('[data-action="useful"]')).toBeFocused();
    expect((await page.request.patch(`${backend.url}/api/v1/incidents/${second}/status`,
      { headers, data: { status: "acknowledged", by: "Lee" } })).ok()).toBe(true);
    await page.clock.fastForward(16_000);
    await expect(detail.locator(".status")).toHaveText("acknowledged");
    await expect(detail.locator('[data-action="useful"]')).toBeFocused();
    expect((await page.request.patch(`${backend.url}/api/v1/incidents/${second}/status`,
      { headers, data: { status: "open", by: "Lee" } })).ok()).toBe(true);
  });
