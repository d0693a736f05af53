// A server that does not answer (fetch rejects, as a browser's does when the server is down or unreachable):
// page.js's calls, the dashboard and the incidents page say so in the Zendesk sidebar's words, not the browser's
// ("Failed to fetch"); a failed refresh says the page shows the last answer, and from when; a failed action says
// it was not saved; and the message goes once the server answers again.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { open, settle, type Page } from "./harness";

const UNREACHABLE = "The Groundswell server did not answer. Check that it is running and reachable.";

interface Helpers {
  call(method: string, path: string, body?: unknown): Promise<unknown>;
  stale(err: Error, at: number): string;
  notSaved(what: string, err: Error): string;
  when(iso: string): string;
}
const GS = () => (window as unknown as { GS: Helpers }).GS;

/** Answers arrive at a moment the test knows (today, this morning), so the clock the page writes is known too. */
const AT = new Date(new Date().setHours(9, 41, 0, 0)).getTime();
const CLOCK = new Date(AT).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const STALE = "Could not refresh; showing what it said at " + CLOCK + ". " + UNREACHABLE;

/** Fires the refreshes due after `ms` (the harness holds the page's timers). */
function fire(page: Page, ms: number): void {
  for (const t of page.timers.filter((t) => t.ms === ms && !t.cleared)) { t.cleared = true; t.fn(); }
}

beforeEach(() => { history.replaceState(null, "", location.pathname); });  // no incident open from the last test

const text = (id: string) => document.getElementById(id)!.textContent;
const shown = (id: string) => !document.getElementById(id)!.hidden;

describe("page.js", () => {
  it("words a request that never reached the server as the sidebar does, and leaves an aborted one as it is",
    async () => {
      const page = open("incidents", ["page.js"]);
      type Failure = Error & { unreachable?: boolean; status?: number };
      const failed = GS().call("GET", "/api/v1/settings").catch((e: Failure) => e);
      page.one("GET /api/v1/settings").fail();  // a TypeError, "Failed to fetch"
      const err = (await failed) as Failure;
      expect([err.message, err.unreachable, err.status]).toEqual([UNREACHABLE, true, 0]);

      const aborted = GS().call("GET", "/api/v1/settings").catch((e: Error) => e);
      page.one("GET /api/v1/settings").fail(new DOMException("The user aborted a request.", "AbortError"));
      expect(((await aborted) as Error).name).toBe("AbortError");

      const refused = GS().call("PATCH", "/api/v1/settings", {}).catch((e: Error) => e);
      page.one("PATCH /api/v1/settings").answer({ error: { message: "Invalid settings.", fields: { x: ["bad"] } } }, 400);
      expect(((await refused) as Error).message).toBe("Invalid settings. x: bad");
    });

  it("says a failed refresh shows the last answer, and from when; a failed change that it was not saved", () => {
    const down = Object.assign(new Error(UNREACHABLE), { unreachable: true });
    expect(GS().stale(down, AT)).toBe(STALE);
    const yesterday = AT - 86_400_000;
    expect(GS().stale(new Error("The server answered 502."), yesterday)).toBe(
      "Could not refresh; showing what it said on " + GS().when(new Date(yesterday).toISOString()) +
      ". The server answered 502.");
    expect(GS().notSaved("Acknowledge", down)).toBe(
      "Acknowledge was not saved: the Groundswell server did not answer. Try again.");
    expect(GS().notSaved("Acknowledge", new Error("Incident #4 is resolved."))).toBe("Incident #4 is resolved.");
  });
});

function status(): Record<string, unknown> {
  return { tenant: { slug: "acme", name: "Acme" }, generated_at: new Date(AT).toISOString(), sources: [],
           detector: { processed_offset: 10, head_offset: 10, pending_events: 0, lag_seconds: 0, skipped_events: 0,
                       last_skipped_at: null } };
}

describe("the dashboard", () => {
  it("says the server did not answer, over its last figures and from when, until the server answers again",
    async () => {
      vi.spyOn(Date, "now").mockReturnValue(AT);
      const page = open("dashboard", ["page.js", "dashboard.js"]);
      page.one("GET /api/v1/status").fail();  // down from the start: nothing drawn to be stale
      await settle();
      expect([shown("error"), text("error")]).toEqual([true, UNREACHABLE]);
      fire(page, 5000);
      page.one("GET /api/v1/status").answer(status());
      await settle();
      expect(shown("error")).toBe(false);
      expect(text("tenant")).toBe("Acme");

      fire(page, 2000);
      page.one("GET /api/v1/status").fail();
      await settle();
      expect([shown("error"), text("error")]).toEqual([true, STALE]);
      expect(text("tenant")).toBe("Acme");  // still drawn
      fire(page, 5000);  // it tries again: the same words while the server stays down
      page.one("GET /api/v1/status").fail();
      await settle();
      expect(text("error")).toBe(STALE);
      fire(page, 5000);
      page.one("GET /api/v1/status").answer(status());
      await settle();
      expect([shown("error"), text("error")]).toEqual([false, ""]);
    });

  it("says a topic's name was not saved when the server did not answer", async () => {
    const page = open("dashboard", ["page.js", "dashboard.js"]);
    page.one("GET /api/v1/incidents").answer({ incidents: [], total: 0 });
    await settle();
    page.one("GET /api/v1/topics?").answer({ topics: [{ id: 2, name: null, display_name: "refund", size: 3,
      volume: [{ count: 1 }], last_seen_at: "2026-03-02T09:00:00Z" }] });
    await settle();
    (document.querySelector("#topics tbody a") as HTMLAnchorElement).click();
    page.one("GET /api/v1/topics/2").answer({ id: 2, name: null, display_name: "refund", summary: "refunds",
                                              llm_summary: null, representatives: [] });
    await settle();
    (document.querySelector("#topic-detail input") as HTMLInputElement).value = "Refunds";
    document.querySelector("#topic-detail form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    page.one("PATCH /api/v1/topics/2").fail();
    await settle();
    expect(text("error")).toBe("The topic's name was not saved: the Groundswell server did not answer. Try again.");
  });
});

function incident(id: number): Record<string, unknown> {
  return { id, kind: "spike", status: "open", status_by: "detector", status_changed_at: "2026-03-02T10:00:00Z",
           title: "Invoices blank " + id, sentence: "More tickets than usual.", series: "all",
           first_seen_at: "2026-03-02T09:00:00Z", detected_at: "2026-03-02T09:30:00Z", ticket_count: 3,
           requester_count: 3, account_count: 1, ticket_ids: [], evidence: {}, feedback: [], useful_count: 0,
           noise_count: 0, volume: [] };
}

describe("the incidents page", () => {
  it("says the server did not answer, and that the list is its last answer, until the server answers again",
    async () => {
      vi.spyOn(Date, "now").mockReturnValue(AT);
      const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
      page.one("GET /api/v1/incidents?limit=100").fail();
      await settle();
      expect(text("list-state")).toBe("Could not load incidents: " + UNREACHABLE);
      fire(page, 15000);
      page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1)], total: 1 });
      await settle();
      expect(shown("list-state")).toBe(false);
      expect(text("updated")).toBe("Updated " + CLOCK);

      fire(page, 15000);
      page.one("GET /api/v1/incidents?limit=100").fail();
      await settle();
      expect([shown("list-state"), text("list-state")]).toEqual([true, STALE]);
      expect(text("updated")).toBe("Not updated since " + CLOCK);
      expect(document.querySelectorAll(".incident-item").length).toBe(1);  // still shown
      fire(page, 15000);
      page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1)], total: 1 });
      await settle();
      expect(shown("list-state")).toBe(false);
      expect(text("updated")).toBe("Updated " + CLOCK);
    });

  it("says an action was not saved when the server did not answer, and the incident stays as it was", async () => {
    const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
    page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1)], total: 1 });
    await settle();
    (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
    page.one("GET /api/v1/incidents/1").answer(incident(1));
    await settle();
    (document.getElementById("by") as HTMLInputElement).value = "Ana";
    const acknowledge = document.querySelector('#incident-detail [data-action="status-acknowledged"]') as HTMLButtonElement;
    acknowledge.click();
    page.one("PATCH /api/v1/incidents/1/status").fail();
    await settle();
    const error = document.querySelector("#incident-detail .detail-error[role=alert]")!;
    expect([error.textContent, (error as HTMLElement).hidden]).toEqual(
      ["Acknowledge was not saved: the Groundswell server did not answer. Try again.", false]);
    expect(document.querySelector("#incident-detail .detail-head .status")?.textContent).toBe("open");
    expect(acknowledge.disabled).toBe(false);  // to try again

    (document.querySelector('#incident-detail [data-action="useful"]') as HTMLButtonElement).click();
    page.one("POST /api/v1/incidents/1/feedback").fail();
    await settle();
    expect(error.textContent).toBe("Mark useful was not saved: the Groundswell server did not answer. Try again.");
  });

  it("says an incident could not be opened when the server did not answer, and shows it once it does", async () => {
    const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
    page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1)], total: 1 });
    await settle();
    (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
    page.one("GET /api/v1/incidents/1").fail();
    await settle();
    expect(document.querySelector("#incident-detail .detail-error")?.textContent).toBe(
      "Could not load incident #1: " + UNREACHABLE);
    fire(page, 15000);
    page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(1)], total: 1 });
    page.one("GET /api/v1/incidents/1").answer(incident(1));
    await settle();
    expect(document.querySelector("#incident-detail h2")?.textContent).toBe("Invoices blank 1 (#1)");
  });
});
