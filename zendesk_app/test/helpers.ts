// Test doubles for the one seam (zaf.ts): a fake ZAF client whose `request` is answered by a route function,
// and sample backend answers shaped like the real API's.
import { RequestError, type RequestOptions, type Zaf } from "../src/zaf";

export type Route = (options: RequestOptions) => unknown;

export interface FakeZaf extends Zaf {
  requests: RequestOptions[];
  invokes: unknown[][];
  fire(event: string, data?: unknown): void;
  values: Record<string, unknown>;
}

export function fakeZaf(route: Route, settings: Record<string, unknown> = { backend_url: "https://gs.example.org/" },
                        location = "ticket_sidebar"): FakeZaf {
  const handlers = new Map<string, ((data: unknown) => void)[]>();
  const zaf: FakeZaf = {
    location,
    settings,
    requests: [],
    invokes: [],
    values: { "ticket.id": 42, currentUser: { name: "Ada Agent", email: "ada@example.com", locale: "en-US",
                                              timeZone: { ianaName: "UTC" } } },
    async get(path) {
      if (!(path in zaf.values)) throw new Error(`"${path}" is not a supported path`);
      return zaf.values[path];
    },
    async invoke(...args) {
      zaf.invokes.push(args);
      return null;
    },
    async request(options) {
      zaf.requests.push(options);
      return route(options);
    },
    on(event, handler) {
      handlers.set(event, [...(handlers.get(event) ?? []), handler]);
    },
    fire(event, data) {
      for (const h of handlers.get(event) ?? []) h(data);
    },
  };
  return zaf;
}

export function httpError(status: number, code: string, message: string): RequestError {
  return new RequestError(status, code, message);
}

/** Resolve pending promises and the microtasks that follow them. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

export const XSS = "<img src=x onerror=alert(1)>";

export function volume(hours = 6): Record<string, unknown>[] {
  const start = Date.parse("2026-11-23T06:00:00Z");
  return Array.from({ length: hours }, (_, i) => ({
    start: new Date(start + i * 3_600_000).toISOString(),
    tickets: i === hours - 1 ? 12 : 2,
    requesters: i === hours - 1 ? 11 : 2,
    expected: 2.5,
    lower: 0,
    upper: 6,
  }));
}

export function incident(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 12, kind: "spike", status: "open", title: "Spike: 'invoice pdf · blank'",
    sentence: "17 tickets from 15 customers in 2 h about 'invoice pdf · blank', against 2.5 expected.",
    llm_summary: null,
    first_seen_at: "2026-11-23T10:04:00Z", detected_at: "2026-11-23T10:40:00Z",
    ticket_count: 17, requester_count: 15, account_count: 9,
    topic: { id: 7, label: "invoice pdf · blank", name: null, keyword_label: "invoice pdf · blank" }, problem_ticket_id: null,
    evidence: { observed: 12, expected: 2.5, lower: 0, upper: 6,
                representatives: [{ ticket_id: "40", text: "The invoice PDF is blank" },
                                  { ticket_id: "41", text: XSS }] },
    volume: volume(),
    ...overrides,
  };
}

export function context(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ticket: { zendesk_id: "42", subject: "Invoice is blank", topic_id: 7 },
    topic: { id: 7, label: "invoice pdf · blank", name: null, display_name: "invoice pdf · blank", size: 30,
             first_seen_at: "2026-11-20T08:00:00Z", representatives: [], volume: [] },
    incidents: [incident()],
    banner: { incident_id: 12, title: "Spike: 'invoice pdf · blank'", sentence: "Known since 10:04." },
    ...overrides,
  };
}

/** The requester's sessions before the ticket, as GET /tickets/<id>/context sends them in ``in_app``. */
export function inApp(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ticket_at: "2026-11-23T12:00:00Z",
    sessions: [
      { session_id: "s2", started_at: "2026-11-23T11:20:00Z", last_seen_at: "2026-11-23T11:22:00Z",
        minutes_before_ticket: 40, last_path: "/home", signals: {}, nudges: [],
        pages: [{ path: "/home", views: 2, seconds: 30, signals: {}, failures: [], stuck: false, incident: null }] },
      { session_id: "s1", started_at: "2026-11-23T09:00:00Z", last_seen_at: "2026-11-23T09:05:00Z",
        minutes_before_ticket: 180, last_path: "/account/:id/cards",
        signals: { failed_request: 3, rage_click: 1 },
        nudges: [{ nudge_id: "pay", title: "Trouble paying?", path: "/billing", at: "2026-11-23T09:02:00Z" },
                 { nudge_id: "old", title: null, path: "/billing", at: "2026-11-23T09:03:00Z" }],
        pages: [{ path: "/billing", views: 1, seconds: 40, signals: { failed_request: 3, rage_click: 1 },
                  failures: [{ request: "POST /api/pay 500", count: 3 }], stuck: true,
                  incident: { id: 14, title: "Failed requests on /billing", status: "open" } },
                { path: "/account/:id/cards", views: 1, seconds: 0, signals: {}, failures: [], stuck: false,
                  incident: null }] },
    ],
    ...overrides,
  };
}
