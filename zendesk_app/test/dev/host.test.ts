// The fake agent workspace as a whole (host.html + host.ts + zaf_host.ts) in jsdom: the app's side of the ZAF
// protocol is played by posting messages from the sidebar's frame, the backend by a stubbed fetch.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { flush } from "../helpers";

const HTML = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dev/host.html"), "utf8");
const TOKEN = "gs_sk_test";

/** The tenant's Zendesk: ticket 100, a question until the backend links it to problem 9000001. */
const zendesk = { type: "question", problemId: null as string | null };
const calls: { method: string; url: string }[] = [];

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
}

async function backend(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(String(input), location.href);
  const method = (init?.method ?? "GET").toUpperCase();
  calls.push({ method, url: url.pathname });
  if (url.pathname.endsWith("/tickets.json")) {
    // The 30 newest, 26 of them in incident #2 (ticket 100 is not); of the live ones, the newest 10 as asked.
    const rows = [{ id: "100", subject: "Invoice PDF is blank", status: "new", type: "question", incident_id: null },
                  ...Array.from({ length: 29 }, (_, i) => ({ id: String(200 + i), subject: `Ticket ${200 + i}`,
                                                             status: "open", type: "question",
                                                             incident_id: i < 26 ? 2 : null }))];
    const live = url.searchParams.get("in_incident") === "true";
    const limit = Number(url.searchParams.get("limit") ?? 30);
    return json({ tickets: rows.filter((r) => !live || r.incident_id !== null).slice(0, limit) });
  }
  if (url.pathname.endsWith("/tickets/100.json")) {
    return json({ ticket: { id: "100", subject: "Invoice PDF is blank", status: "new", type: zendesk.type,
                            problem_id: zendesk.problemId, source: "zendesk" } });
  }
  if (method === "POST" && url.pathname === "/api/v1/incidents/3/problem-ticket") {
    zendesk.type = "incident"; // what the backend does in Zendesk (server/zendesk/problems.py)
    zendesk.problemId = "9000001";
    return json({ problem_ticket_id: 9000001, linked_ticket_id: "100", created: true });
  }
  return new Response("{}", { status: 404 });
}

let frame: HTMLIFrameElement;
let listed: string | null = null;
let liveHeading: string | null = null;
const toApp: Record<string, unknown>[] = [];

/** A message from the app in the sidebar to Zendesk. */
function fromApp(message: Record<string, unknown>): void {
  window.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message), origin: appOrigin(),
                                                     source: frame.contentWindow }));
}

function appOrigin(): string {
  return (window as unknown as { __zafHost: { appOrigin: string } }).__zafHost.appOrigin;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !check(); i++) await flush(2);
  expect(check()).toBe(true);
}

beforeAll(async () => {
  document.documentElement.innerHTML = HTML.replace(/<script[^>]*><\/script>/g, "");
  sessionStorage.setItem("gs-demo-zendesk-secrets", JSON.stringify({ api_token: TOKEN }));
  vi.stubGlobal("fetch", vi.fn(backend));
  await import("../../dev/host");
  await until(() => document.querySelectorAll("#ticket-list button").length === 30);
  listed = document.getElementById("host-status")!.textContent;
  liveHeading = document.getElementById("incident-heading")!.textContent;
  (document.querySelector("#ticket-list button") as HTMLButtonElement).click();
  frame = document.querySelector('iframe[data-location="ticket_sidebar"]') as HTMLIFrameElement;
});

beforeEach(() => { // what Zendesk sends the app (spies are restored after each test)
  vi.spyOn(frame.contentWindow as Window, "postMessage").mockImplementation((data: unknown) => {
    toApp.push(JSON.parse(String(data)) as Record<string, unknown>);
  });
});

describe("the fake agent workspace", () => {
  it("counts the tickets in a live incident from the rows it shows, not from the capped list", () => {
    expect(document.querySelectorAll("#ticket-list .zd-badge")).toHaveLength(26);
    expect(listed).toBe("30 newest tickets, 26 of them in a live incident.");
    expect(document.querySelectorAll("#incident-list button")).toHaveLength(10);
    expect(liveHeading).toBe("In a live incident: the 10 newest");
  });

  it("shows the open ticket as Zendesk has it", async () => {
    await until(() => calls.some((c) => c.url.endsWith("/tickets/100.json")));
    expect(document.getElementById("ticket-title")!.textContent).toBe("#100 Invoice PDF is blank");
    expect(document.getElementById("ticket-meta")!.textContent).toBe("Status: new · Type: question");
  });

  it("after the sidebar links the ticket to a problem, shows it as an incident of that problem", async () => {
    fromApp({ key: "iframe.on:ticket.updated", message: { subscriberCount: 1 } });
    fromApp({ key: "iframe.on:ticket.type.changed", message: { subscriberCount: 1 } });
    fromApp({ key: "request:1", message: { url: `${location.origin}/api/v1/incidents/3/problem-ticket`, type: "POST",
                                           headers: { Authorization: "Bearer {{setting.api_token}}" }, secure: true,
                                           contentType: "application/json", dataType: "json",
                                           data: JSON.stringify({ ticket_id: "100", by: "Ada" }) } });
    const meta = document.getElementById("ticket-meta")!;
    await until(() => meta.textContent!.includes("incident"));
    expect(meta.textContent).toBe("Status: new · Type: incident · Linked problem: #9000001");
    expect(toApp.map((m) => m.key)).toEqual(["zaf.request:1.done", "zaf.ticket.type.changed", "zaf.ticket.updated"]);
    expect(toApp[1].message).toBe("incident");
    expect(toApp[2].message).toMatchObject({ id: 100, type: "incident" });
    expect(document.getElementById("host-status")!.textContent).toContain("Ticket #100 was updated in Zendesk");

    // The app reading the ticket through ZAF gets the new type too.
    fromApp({ id: 7, request: "get", params: ["ticket.type"] });
    await until(() => toApp.some((m) => m.id === 7));
    expect(toApp.find((m) => m.id === 7)!.result).toMatchObject({ "ticket.type": "incident" });
  });

  it("looks again only after the app's writes: reads change nothing in Zendesk", async () => {
    const reads = calls.filter((c) => c.url.endsWith("/tickets/100.json")).length;
    fromApp({ key: "request:2", message: { url: `${location.origin}/api/v1/tickets/100/context`, type: "GET" } });
    await until(() => toApp.some((m) => m.key === "zaf.request:2.fail"));
    await flush();
    expect(calls.filter((c) => c.url.endsWith("/tickets/100.json")).length).toBe(reads);
  });

  it("forgets what it said about a ticket once another opens, and says the list's line back at the list",
     async () => {
    const status = document.getElementById("host-status")!;
    expect(status.textContent).toContain("Ticket #100 was updated in Zendesk");
    // The app opens another ticket (a representative ticket's number).
    fromApp({ id: 8, request: "invoke", params: { routeTo: ["ticket", "201"] } });
    await until(() => document.getElementById("ticket-title")!.textContent === "#201 Ticket 201");
    expect(status.textContent).not.toContain("#100");
    document.getElementById("back-button")!.click();
    expect(status.textContent).toBe("30 newest tickets, 26 of them in a live incident.");
  });
});
