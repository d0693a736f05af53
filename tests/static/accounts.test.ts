// The incidents page's accounts section (server/static/accounts.js): the window picked twice in a row, or the
// digest's schedule saved while a reading is on its way, the section keeps the latest, whatever order the
// answers come in.
import { expect, it } from "vitest";
import { open, settle } from "./harness";

function changes(days: number): Record<string, unknown> {
  return { days, weeks: 4, min_ratio: 2, fdr: 0.1, tested: { tickets: 5, users: 0, sessions: 0 }, accounts: [] };
}

function slack(digest: { weekday: number; hour: number } | null): Record<string, unknown> {
  return { mode: "webhook", webhook_url_set: true, accounts_digest: digest, accounts_digest_last: null };
}

const intro = () => document.querySelector("#accounts-body p")?.textContent ?? "";

it("shows the window picked last when an earlier pick's answer arrives after it", async () => {
  const page = open("incidents", ["page.js", "accounts.js"]);
  page.one("GET /api/v1/accounts/changes?days=1").answer(changes(1));
  page.one("GET /api/v1/settings/notifications").answer(slack(null));
  await settle();
  expect(intro()).toMatch(/^The last day,/);

  const pick = document.getElementById("accounts-days") as HTMLSelectElement;
  pick.value = "28";
  pick.dispatchEvent(new Event("change"));
  pick.value = "7";
  pick.dispatchEvent(new Event("change"));
  page.one("GET /api/v1/accounts/changes?days=7").answer(changes(7));
  await settle();
  expect(intro()).toMatch(/^The last 7 days,/);
  page.one("GET /api/v1/accounts/changes?days=28").answer(changes(28));
  await settle();
  expect(intro()).toMatch(/^The last 7 days,/);
});

it("keeps the digest's schedule as saved when a reading asked for before the save answers after it", async () => {
  const page = open("incidents", ["page.js", "accounts.js"]);
  page.one("GET /api/v1/accounts/changes?days=1").answer(changes(1));
  page.one("GET /api/v1/settings/notifications").answer(slack(null));
  await settle();
  expect(document.getElementById("accounts-digest")!.textContent).toBe("Weekly digest to Slack: off.");

  page.timers.find((t) => t.ms === 300000)!.fn();  // the section's refresh, on its way
  const day = document.getElementById("digest-day") as HTMLSelectElement;
  day.value = "0";
  day.dispatchEvent(new Event("change", { bubbles: true }));
  document.getElementById("digest-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  page.one("PUT /api/v1/settings/notifications").answer(slack({ weekday: 0, hour: 9 }));
  await settle();
  const line = document.getElementById("accounts-digest")!.textContent;
  expect(line).toMatch(/^Weekly digest to Slack: Mondays at 09:00 UTC/);
  page.one("GET /api/v1/settings/notifications").answer(slack(null));  // read before the save
  await settle();
  expect(document.getElementById("accounts-digest")!.textContent).toBe(line);
  expect(day.value).toBe("0");
});
