// The incidents page's "Known issues on your pages" (server/static/known.js): declared issues listed from the
// widget settings, one added or removed with a PATCH of the list alone (tips and the rest stay as stored), and
// what the server refuses said by the field's name on the page.
import { expect, it } from "vitest";
import { open, settle } from "./harness";

const PDF = { id: "invoices-1", match: "/invoices*", message: "Invoice PDFs are blank; we are on it.", link_url: null };
const settings = (known: unknown[]) => ({ nudges: [{ id: "pay" }], known_issues: known, holdout: 0 });

function fill(id: string, value: string): void {
  (document.getElementById(id) as HTMLInputElement).value = value;
}
const submit = () => document.getElementById("known-form")!.dispatchEvent(new Event("submit", { cancelable: true }));
const listed = () => document.getElementById("known-list")!.textContent;
const status = () => document.getElementById("known-status")!;

it("lists the declared issues and adds one with a PATCH of the known issues alone", async () => {
  const page = open("incidents", ["page.js", "known.js"]);
  page.one("GET /api/v1/settings/widget").answer(settings([PDF]));
  await settle();
  expect(document.getElementById("known-issues")!.hidden).toBe(false);
  expect(listed()).toContain("/invoices*: Invoice PDFs are blank; we are on it.");
  fill("known-match", "  /billing* ");
  fill("known-text", "Card payments fail for some banks.");
  fill("known-link", "https://status.example.com/42");
  submit();
  const patch = page.one("PATCH /api/v1/settings/widget");
  const sent = patch.body as { known_issues: { id: string; match: string; message: string; link_url: string }[] };
  expect(Object.keys(sent)).toEqual(["known_issues"]);  // nothing else is sent, so nothing else changes
  expect(sent.known_issues[0]).toEqual(PDF);
  expect(sent.known_issues[1]).toMatchObject({ match: "/billing*", message: "Card payments fail for some banks.",
                                               link_url: "https://status.example.com/42" });
  expect(sent.known_issues[1].id).toMatch(/^billing-[a-z0-9]+$/);
  patch.answer(settings(sent.known_issues));
  await settle();
  expect(listed()).toContain("/billing*: Card payments fail for some banks. (links to https://status.example.com/42)");
  expect(status().textContent).toBe("Declared: pages matching /billing* show it from their next load.");
  expect((document.getElementById("known-text") as HTMLInputElement).value).toBe("");
});

it("refuses a page that is not a path before sending, and says the server's refusal by the field's name", async () => {
  const page = open("incidents", ["page.js", "known.js"]);
  page.one("GET /api/v1/settings/widget").answer(settings([]));
  await settle();
  expect(listed()).toContain("None declared.");
  fill("known-match", "billing");
  fill("known-text", "Down");
  submit();
  await settle();
  expect(page.pending("PATCH")).toEqual([]);
  expect(status().textContent).toBe("Page: a path that starts with / (such as /billing*).");
  fill("known-match", "/bill ing");
  submit();
  page.one("PATCH /api/v1/settings/widget").answer({ error: { code: "invalid", message: "Invalid input.",
    fields: { known_issues: { "0": { match: ["String does not match expected pattern."] } } } } }, 400);
  await settle();
  expect(status().textContent).toBe("Page: String does not match expected pattern.");
  expect(status().className).toBe("detail-error");
});

it("removes an issue on a second click, sending the list without it", async () => {
  const other = { ...PDF, id: "b-2", match: "/billing*" };
  const page = open("incidents", ["page.js", "known.js"]);
  page.one("GET /api/v1/settings/widget").answer(settings([PDF, other]));
  await settle();
  const remove = document.querySelector('#known-list button[aria-label="Remove the known issue on /invoices*"]') as HTMLButtonElement;
  remove.click();
  expect(page.pending("PATCH")).toEqual([]);
  expect(remove.textContent).toBe("Remove? Click again");
  remove.click();
  const patch = page.one("PATCH /api/v1/settings/widget");
  expect(patch.body).toEqual({ known_issues: [other] });
  patch.answer(settings([other]));
  await settle();
  expect(listed()).not.toContain("/invoices*");
  expect(status().textContent).toBe("Removed: pages matching /invoices* no longer show it from their next load.");
});

/** The page with PDF declared, a second declaration (/billing*) sent and its answer awaited. */
async function declaringBilling(): Promise<ReturnType<typeof open>> {
  const page = open("incidents", ["page.js", "known.js"]);
  page.one("GET /api/v1/settings/widget").answer(settings([PDF]));
  await settle();
  fill("known-match", "/billing*");
  fill("known-text", "Card payments fail.");
  submit();
  return page;
}

it("one change at a time: while a declaration is saved, Remove and Declare wait", async () => {
  const page = await declaringBilling();
  const remove = document.querySelector("#known-list button") as HTMLButtonElement;
  expect(remove.disabled).toBe(true);
  remove.click();
  remove.click();
  submit();
  expect(page.pending("PATCH")).toHaveLength(1);
  const patch = page.one("PATCH /api/v1/settings/widget");
  patch.answer(settings((patch.body as { known_issues: unknown[] }).known_issues));
  await settle();
  expect(listed()).toContain("/billing*: Card payments fail.");
  expect([...document.querySelectorAll("#known-issues button")].every((b) => !(b as HTMLButtonElement).disabled))
    .toBe(true);
});

it("a list changed elsewhere since it was read is read again and shown, and nothing is overwritten", async () => {
  const other = { ...PDF, id: "sso-1", match: "/login", message: "Sign-in fails for SSO customers." };
  const page = await declaringBilling();
  page.one("PATCH /api/v1/settings/widget").answer({ error: { code: "precondition_failed",
    message: "The widget settings changed since you read them." } }, 412);
  await settle();
  page.one("GET /api/v1/settings/widget").answer(settings([PDF, other]));  // as another admin left them
  await settle();
  expect(listed()).toContain("/login: Sign-in fails for SSO customers.");
  expect(listed()).not.toContain("/billing*");
  expect(status().textContent).toMatch(/^The known issues were changed elsewhere meanwhile/);
  expect((document.getElementById("known-text") as HTMLInputElement).value).toBe("Card payments fail.");  // kept to redo
});

it("says when a pattern matches none of the pages the widget saw, and offers those pages for the field", async () => {
  const seen = { days: 7, count: 3, paths: ["/demo/acme/billing", "/demo/acme/invoices", "/demo/acme/upgrade"] };
  const page = open("incidents", ["page.js", "known.js"]);
  page.one("GET /api/v1/settings/widget").answer({ ...settings([{ ...PDF, pages_matched: 0 }]), pages_seen: seen });
  await settle();
  expect(listed()).toContain("This pattern matches none of the 3 pages the widget saw in the last 7 days (such as " +
    "/demo/acme/billing, /demo/acme/invoices, /demo/acme/upgrade): its banner shows nowhere.");
  const options = Array.from(document.querySelectorAll("#known-pages option")).map((o) => (o as HTMLOptionElement).value);
  expect(options).toEqual(seen.paths);
  expect(document.getElementById("known-match")!.getAttribute("list")).toBe("known-pages");
  fill("known-match", "/billing*");
  fill("known-text", "Payments fail; we are on it.");
  submit();
  const patch = page.one("PATCH /api/v1/settings/widget");
  const sent = patch.body as { known_issues: Record<string, unknown>[] };
  expect(sent.known_issues[0]).toEqual(PDF);  // what the server said of it is not sent back
  patch.answer({ ...settings(sent.known_issues.map((i) => ({ ...i, pages_matched: 0 }))), pages_seen: seen });
  await settle();
  expect(status().textContent).toBe("Declared, but /billing* matches none of the 3 pages the widget saw in the " +
    "last 7 days (such as /demo/acme/billing, /demo/acme/invoices, /demo/acme/upgrade): no banner shows until a " +
    "page it matches is visited. Remove it and declare the path as the widget sees it.");
  expect(status().className).toBe("detail-error");
  // a pattern that matches, or a server that does not say: as before
  fill("known-match", "/demo/acme/billing*");
  fill("known-text", "Payments fail; we are on it.");
  submit();
  const again = page.one("PATCH /api/v1/settings/widget");
  const third = (again.body as { known_issues: Record<string, unknown>[] }).known_issues;
  again.answer({ ...settings(third.map((i) => ({ ...i, pages_matched: i.match === "/demo/acme/billing*" ? 1 : 0 }))),
                 pages_seen: seen });
  await settle();
  expect(status().textContent).toBe("Declared: pages matching /demo/acme/billing* show it from their next load.");
});
