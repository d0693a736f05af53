// What the backend sends, parsed defensively: every field is checked and bounded, anything malformed is
// dropped or defaulted, so a view never meets an unexpected type. Text stays text (rendered with textContent).

export interface VolumePoint {
  start: string;
  tickets: number;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  /** The open hour of an active incident's series: its counts so far against the whole hour's band. */
  partial?: boolean;
}

export interface Representative {
  ticketId: string;
  text: string;
}

export interface TopicRef {
  id: number;
  /** What it goes by: the name people gave it, else its keyword label. */
  label: string;
  /** The name people gave it; "" while it goes by its keyword label (or from a server that does not say). */
  name: string;
  /** Its keyword label; "" when the server does not say. */
  keywordLabel: string;
}

export interface Evidence {
  observed: number | null;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  representatives: Representative[];
}

export interface Incident {
  id: number;
  kind: string;
  status: string;
  title: string;
  sentence: string;
  /** Claude's summary of the incident's redacted tickets ("" when the server has none). */
  llmSummary: string;
  firstSeenAt: string | null;
  detectedAt: string | null;
  ticketCount: number;
  requesterCount: number;
  /** In-app friction incidents: the page and its sessions (null on ticket incidents). */
  friction: { page: string; sessions: number } | null;
  accountCount: number | null;
  topic: TopicRef | null;
  problemTicketId: number | null;
  /** In a ticket's context: whether the ticket is one of the incident's tickets (false: it only shares the
   * incident's topic). Lists that are not about one ticket (the nav bar's) read true. */
  attached: boolean;
  /** In a ticket's context: this ticket is already an incident of the problem ticket (Zendesk says so, or
   * Groundswell linked it). */
  ticketLinked: boolean;
  /** In a ticket's context: the verdict this agent gave on the incident, if any. */
  yourVerdict: "useful" | "noise" | null;
  evidence: Evidence;
  volume: VolumePoint[];
  /** Where the incident's customers met friction in the product before writing, most customers first. */
  pages: IncidentPage[];
}

export interface IncidentPage {
  path: string;
  users: number;
  sessions: number;
  /** Whether the incident names the page: far more of its customers met friction there than usual (the
   * server's `associated`; evidence written before that flag, at least two of its customers and a third). */
  associated: boolean;
}

/** The friction signals the server counts (server/widget/features.py SIGNALS), in its order. */
export const SIGNALS = ["rage_click", "dead_click", "error_click", "failed_request", "js_error", "form_error",
                        "form_abandon"] as const;
export type Signal = (typeof SIGNALS)[number];

export interface SessionPage {
  path: string;
  views: number;
  seconds: number;
  /** Known signals met on the page with their counts, in SIGNALS order; unknown ones are dropped. */
  signals: [Signal, number][];
  failures: { request: string; count: number }[];
  stuck: boolean;
  incident: { id: number; title: string; status: string } | null;
}

export interface InAppSession {
  sessionId: string;
  startedAt: string | null;
  minutesBefore: number;
  lastPath: string;
  signals: [Signal, number][];
  pages: SessionPage[];
  /** Help nudges the widget showed in the session (what the customer already read). */
  nudges: { title: string; path: string; at: string | null }[];
}

/** What the ticket's requester met in the product in the day before writing (the widget's sessions). */
export interface InApp {
  ticketAt: string | null;
  sessions: InAppSession[];
}

export interface Topic {
  id: number;
  /** What it goes by: the name people gave it, else its keyword label. */
  label: string;
  /** The name people gave it; "" while it goes by its keyword label. */
  name: string;
  /** Its keyword label: words from its tickets, which it goes by without a name. */
  keywordLabel: string;
  size: number;
  firstSeenAt: string | null;
  representatives: Representative[];
  volume: VolumePoint[];
}

export interface Banner {
  incidentId: number;
  title: string;
  sentence: string;
}

/** The ticket's organization when the accounts report flags it (GET /accounts/changes). */
export interface AccountNote {
  accountId: string;
  /** The Zendesk organization's name when Groundswell knows it (for a product account, the organization it
   * is linked to), else "". */
  name: string;
  /** `organization`: the ticket's Zendesk organization (its tickets); `account`: the requester's product
   * account (its sessions or active users). */
  source: "organization" | "account";
  signal: "tickets" | "sessions" | "users";
  direction: "up" | "down";
  observed: number;
  expected: number;
  /** Window length in days: 1 is a day against the same weekday of the weeks before. */
  days: number;
  requesters: number | null;
  /** The organization's counts in the past windows, oldest first. */
  history: number[];
}

export interface TicketContext {
  ticketId: string;
  subject: string;
  topic: Topic | null;
  incidents: Incident[];
  banner: Banner | null;
  inApp: InApp | null;
  account: AccountNote | null;
}

export interface LinkResult {
  problemTicketId: number;
  linkedTicketId: string;
  created: boolean;
}

const MAX_TEXT = 2000;
const MAX_POINTS = 24 * 14;
const MAX_REPRESENTATIVES = 10;
const MAX_INCIDENTS = 50;
const MAX_PAGES = 10;
const MAX_SESSIONS = 5;
const MAX_FAILURES = 5;
const MAX_NUDGES = 3;

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : null;
}

function list(value: unknown, max: number): unknown[] {
  return Array.isArray(value) ? value.slice(0, max) : [];
}

export function text(value: unknown, max = MAX_TEXT): string {
  if (typeof value === "string") return value.slice(0, max);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return "";
}

export function num(value: unknown): number | null {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
}

function count(value: unknown): number {
  const n = num(value);
  return n === null || n < 0 ? 0 : Math.round(n);
}

/** A positive integer id, or null. */
export function id(value: unknown): number | null {
  const n = num(value);
  return n !== null && Number.isInteger(n) && n > 0 && n <= Number.MAX_SAFE_INTEGER ? n : null;
}

function time(value: unknown): string | null {
  return typeof value === "string" && !Number.isNaN(Date.parse(value)) ? value : null;
}

function representatives(value: unknown): Representative[] {
  const out: Representative[] = [];
  for (const item of list(value, MAX_REPRESENTATIVES)) {
    const o = obj(item);
    const body = o ? text(o.text, 600) : "";
    if (o && body) out.push({ ticketId: text(o.ticket_id, 40), text: body });
  }
  return out;
}

/** Hourly points: the incident form ({tickets, expected, lower, upper}) or the topic form ({count}). */
export function volume(value: unknown): VolumePoint[] {
  const out: VolumePoint[] = [];
  for (const item of list(value, 10_000)) {
    const o = obj(item);
    const start = o ? time(o.start) : null;
    if (!o || !start) continue;
    out.push({ start, tickets: count(o.tickets ?? o.count), expected: num(o.expected), lower: num(o.lower),
               upper: num(o.upper), ...(o.partial === true ? { partial: true } : {}) });
  }
  return out.slice(-MAX_POINTS);
}

function topicRef(value: unknown): TopicRef | null {
  const o = obj(value);
  const topicId = o ? id(o.id) : null;
  return o && topicId !== null
    ? { id: topicId, label: text(o.label, 300), name: text(o.name, 300), keywordLabel: text(o.keyword_label, 300) }
    : null;
}

export function parseIncident(value: unknown): Incident | null {
  const o = obj(value);
  const incidentId = o ? id(o.id) : null;
  if (!o || incidentId === null) return null;
  const ev = obj(o.evidence) ?? {};
  return {
    id: incidentId,
    kind: text(o.kind, 40),
    status: text(o.status, 40),
    title: text(o.title, 300),
    sentence: text(o.sentence),
    llmSummary: text(o.llm_summary, 600),
    firstSeenAt: time(o.first_seen_at),
    detectedAt: time(o.detected_at),
    ticketCount: count(o.ticket_count),
    requesterCount: count(o.requester_count ?? ev.requesters),
    friction: o.kind === "friction" ? { page: text(ev.path, 300), sessions: count(ev.sessions) } : null,
    accountCount: o.account_count === undefined && ev.accounts === undefined ? null
      : count(o.account_count ?? ev.accounts),
    topic: topicRef(o.topic),
    problemTicketId: id(o.problem_ticket_id),
    ticketLinked: o.ticket_linked === true && id(o.problem_ticket_id) !== null,
    yourVerdict: o.your_verdict === "useful" || o.your_verdict === "noise" ? o.your_verdict : null,
    attached: o.attached !== false,
    evidence: { observed: num(ev.observed), expected: num(ev.expected), lower: num(ev.lower), upper: num(ev.upper),
                representatives: representatives(ev.representatives) },
    volume: volume(o.volume),
    pages: incidentPages(ev.pages, count(o.requester_count ?? ev.requesters)),
  };
}

function incidentPages(value: unknown, customers: number): IncidentPage[] {
  const out: IncidentPage[] = [];
  for (const item of list(value, MAX_PAGES)) {
    const o = obj(item);
    const path = o ? text(o.path, 300) : "";
    if (!o || !path) continue;
    const users = count(o.users);
    const associated = typeof o.associated === "boolean" ? o.associated : users >= 2 && 3 * users >= customers;
    out.push({ path, users, sessions: count(o.sessions), associated });
  }
  return out;
}

function signals(value: unknown): [Signal, number][] {
  const o = obj(value) ?? {};
  const out: [Signal, number][] = [];
  for (const s of SIGNALS) {
    const n = count(o[s]);
    if (n > 0) out.push([s, n]);
  }
  return out;
}

function sessionPage(value: unknown): SessionPage | null {
  const o = obj(value);
  const path = o ? text(o.path, 300) : "";
  if (!o || !path) return null;
  const failures: SessionPage["failures"] = [];
  for (const item of list(o.failures, MAX_FAILURES)) {
    const f = obj(item);
    const request = f ? text(f.request, 200) : "";
    if (f && request) failures.push({ request, count: count(f.count) });
  }
  const inc = obj(o.incident);
  const incidentId = inc ? id(inc.id) : null;
  return { path, views: count(o.views), seconds: count(o.seconds), signals: signals(o.signals), failures,
           stuck: o.stuck === true,
           incident: inc && incidentId !== null
             ? { id: incidentId, title: text(inc.title, 300), status: text(inc.status, 40) } : null };
}

export function parseInApp(value: unknown): InApp | null {
  const o = obj(value);
  if (!o) return null;
  const sessions: InAppSession[] = [];
  for (const item of list(o.sessions, MAX_SESSIONS)) {
    const s = obj(item);
    const sessionId = s ? text(s.session_id, 64) : "";
    if (!s || !sessionId) continue;
    const pages = list(s.pages, MAX_PAGES).map(sessionPage).filter((p): p is SessionPage => p !== null);
    const nudges: InAppSession["nudges"] = [];
    for (const item of list(s.nudges, MAX_NUDGES)) {
      const n = obj(item);
      if (n && text(n.path, 300)) nudges.push({ title: text(n.title, 300), path: text(n.path, 300), at: time(n.at) });
    }
    sessions.push({ sessionId, startedAt: time(s.started_at), minutesBefore: count(s.minutes_before_ticket),
                    lastPath: text(s.last_path, 300), signals: signals(s.signals), pages, nudges });
  }
  return sessions.length ? { ticketAt: time(o.ticket_at), sessions } : null;
}

export function parseAccount(value: unknown): AccountNote | null {
  const o = obj(value);
  const accountId = o ? text(o.account_id, 128) : "";
  const days = o ? id(o.days) : null;
  if (!o || !accountId || days === null || (o.direction !== "up" && o.direction !== "down")) return null;
  const source = o.source === "account" ? "account" : o.source === "organization" || o.source === undefined
    ? "organization" : null;
  const signal = o.signal === "sessions" || o.signal === "users" ? o.signal : "tickets";
  if (source === null || (source === "account") === (signal === "tickets")) return null;
  const expected = num(o.expected);
  const people = num(o.requesters);
  return { accountId, name: text(o.name, 255), source, signal,
           direction: o.direction, observed: count(o.observed),
           expected: expected !== null && expected >= 0 ? expected : 0, days: Math.min(days, 366),
           requesters: people === null ? null : count(people), history: list(o.history, 60).map(count) };
}

function parseTopic(value: unknown): Topic | null {
  const o = obj(value);
  const topicId = o ? id(o.id) : null;
  if (!o || topicId === null) return null;
  return {
    id: topicId,
    label: text(o.display_name, 300) || text(o.name, 300) || text(o.label, 300),
    name: text(o.name, 300),
    keywordLabel: text(o.label, 300),
    size: count(o.size),
    firstSeenAt: time(o.first_seen_at),
    representatives: representatives(o.representatives),
    volume: volume(o.volume),
  };
}

function parseBanner(value: unknown): Banner | null {
  const o = obj(value);
  const incidentId = o ? id(o.incident_id) : null;
  return o && incidentId !== null ? { incidentId, title: text(o.title, 300), sentence: text(o.sentence) } : null;
}

export interface IncidentList {
  incidents: Incident[];
  /** How many match on the server; more than `incidents` holds when the list was cut at its limit. */
  total: number;
}

export function parseIncidentList(value: unknown): IncidentList {
  const o = obj(value) ?? {};
  const incidents = parseIncidents(o.incidents);
  return { incidents, total: Math.max(incidents.length, count(o.total)) };
}

export function parseIncidents(value: unknown): Incident[] {
  const out: Incident[] = [];
  for (const item of list(value, MAX_INCIDENTS)) {
    const incident = parseIncident(item);
    if (incident) out.push(incident);
  }
  return out;
}

/**
 * The ticket context. When the backend sends no `banner` key at all (an older server), the first open or
 * acknowledged incident the ticket is one of stands in for it; an explicit `null` means no banner.
 */
export function parseContext(value: unknown, ticketId: string): TicketContext {
  const o = obj(value) ?? {};
  const ticket = obj(o.ticket) ?? {};
  const incidents = parseIncidents(o.incidents);
  let banner = parseBanner(o.banner);
  if (!("banner" in o)) {
    const active = incidents.find((i) => (i.status === "open" || i.status === "acknowledged") && i.attached);
    banner = active ? { incidentId: active.id, title: active.title, sentence: active.sentence } : null;
  }
  return { ticketId: text(ticket.zendesk_id, 40) || ticketId, subject: text(ticket.subject, 500),
           topic: parseTopic(o.topic), incidents, banner, inApp: parseInApp(o.in_app),
           account: parseAccount(o.account) };
}

export function parseLink(value: unknown): LinkResult | null {
  const o = obj(value);
  const problem = o ? id(o.problem_ticket_id) : null;
  if (!o || problem === null) return null;
  return { problemTicketId: problem, linkedTicketId: text(o.linked_ticket_id, 40), created: o.created === true };
}
