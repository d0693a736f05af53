// A refused API token is told alike on the dashboard and the incidents page (page.js GS.tokenRefused): the
// server's reason, and where a token comes from.
import { expect, it } from "vitest";
import { open, settle } from "./harness";

const SAID = "That API token was not accepted: Unknown or revoked API token. Paste the tenant's token (gs_sk_…) " +
  "again: `groundswell demo` prints the demo's, and `groundswell tenant rotate SLUG --api-token` makes a new one.";

it("the dashboard says why and where a token comes from", async () => {
  const page = open("dashboard", ["page.js", "dashboard.js"], "gs_sk_wrong");
  page.one("GET /api/v1/status").answer({ error: { message: "Unknown or revoked API token." } }, 401);
  await settle();
  expect(document.getElementById("error")!.textContent).toBe(SAID);
  expect(document.getElementById("login")!.hidden).toBe(false);
});

it("the incidents page says the same", async () => {
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"], "gs_sk_wrong");
  page.pending("GET /api/v1/incidents?").forEach((r) => r.answer({ error: { message: "Unknown or revoked API token." } }, 401));
  await settle();
  expect(document.getElementById("login-error")!.textContent).toBe(SAID);
});

it("a pasted token with a character no token has is refused on the spot, on both pages", async () => {
  for (const [template, script, error] of [["dashboard", "dashboard.js", "error"],
                                          ["incidents", "incidents.js", "login-error"]] as const) {
    const page = open(template, ["page.js", script], null);
    (document.getElementById("token") as HTMLInputElement).value = " gs_sk_abc\u201d ";
    document.getElementById("login")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await settle();
    expect(document.getElementById(error)!.textContent).toMatch(/^That is not an API token: it has a character/);
    expect(page.requests).toEqual([]);
    expect(sessionStorage.getItem("groundswell.token")).toBeNull();
  }
});
