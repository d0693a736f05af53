// The fake agent workspace opened at a ticket, as the incidents page's ticket links open it in the demo
// (`/demo/zendesk#ticket=<id>`, in a new tab that the browser gave a copy of the incidents tab's session storage):
// it opens that ticket with the incidents page's token, asks for none, and its address follows the open ticket.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { flush } from "../helpers";

const HTML = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dev/host.html"), "utf8");
const TOKEN = "gs_sk_from_the_incidents_page";
const auths: string[] = [];

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
}

async function backend(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(String(input), location.href);
  auths.push(new Headers(init?.headers).get("Authorization") ?? "");
  if (url.pathname.endsWith("/tickets.json")) {
    return json({ tickets: [{ id: "100", subject: "Invoice PDF is blank", status: "new", type: "question",
                              incident_id: 2 },
                            { id: "228", subject: "Export times out", status: "open", type: "question",
                              incident_id: null }] });
  }
  const one = /\/tickets\/([0-9]+)\.json$/.exec(url.pathname);
  if (one) {
    const subject = one[1] === "100" ? "Invoice PDF is blank" : "Export times out";
    return json({ ticket: { id: one[1], subject, status: "open", type: "question", problem_id: null,
                            source: "zendesk" } });
  }
  return new Response("{}", { status: 404 });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !check(); i++) await flush(2);
  expect(check()).toBe(true);
}

const text = (id: string) => document.getElementById(id)!.textContent;
const hidden = (id: string) => (document.getElementById(id) as HTMLElement).hidden;

beforeAll(async () => {
  document.documentElement.innerHTML = HTML.replace(/<script[^>]*><\/script>/g, "");
  history.replaceState(null, "", "/demo/zendesk#ticket=100");
  sessionStorage.setItem("groundswell.token", TOKEN); // the incidents tab's, as the browser copied it
  vi.stubGlobal("fetch", vi.fn(backend));
  await import("../../dev/host");
});

describe("the agent page opened at a ticket from the incidents page", () => {
  it("opens that ticket with the incidents page's token, without asking for one", async () => {
    await until(() => text("ticket-title") === "#100 Invoice PDF is blank");
    expect(hidden("ticket-pane")).toBe(false);
    // Opened as the page loads: the title takes no focus (the browser would draw a ring around it).
    expect(document.activeElement).toBe(document.body);
    expect(hidden("token-pane")).toBe(true);
    expect(document.querySelector('iframe[data-location="ticket_sidebar"]')).not.toBeNull();
    expect(auths.length).toBeGreaterThan(0);
    expect(new Set(auths)).toEqual(new Set([`Bearer ${TOKEN}`]));
    expect(location.hash).toBe("#ticket=100");
    expect(window.opener).toBeNull();
  });

  it("keeps the token under its own key only when given one: the incidents page's copy is left as it was", () => {
    expect(sessionStorage.getItem("gs-demo-zendesk-secrets")).toBeNull();
    expect(sessionStorage.getItem("groundswell.token")).toBe(TOKEN);
  });

  it("names no ticket in its address while the list is shown", async () => {
    // The list's line waits while the ticket is shown, and is said once the agent is back at the list.
    await until(() => document.querySelectorAll("#ticket-list button").length === 2);
    expect(text("host-status")).toBe("");
    (document.getElementById("back-button") as HTMLButtonElement).click();
    expect(text("host-status")).toBe("2 newest tickets, 1 of them in a live incident.");
    expect(hidden("tickets-pane")).toBe(false);
    expect(location.hash).toBe("");
    expect(location.pathname).toBe("/demo/zendesk");
  });

  it("opens the ticket a changed address names", async () => {
    location.hash = "#ticket=228";
    await until(() => text("ticket-title") === "#228 Export times out");
    expect(hidden("ticket-pane")).toBe(false);
    expect(document.activeElement?.id).toBe("ticket-title");  // moved on from the now hidden list
    expect(location.hash).toBe("#ticket=228");
  });

  it("ignores an address naming no ticket number", async () => {
    location.hash = "#ticket=12ab";
    await flush(4);
    expect(text("ticket-title")).toBe("#228 Export times out");
  });
});
