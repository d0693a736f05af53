// The open ticket of the fake agent workspace: how it reads, and how it follows changes made in Zendesk by
// someone else while the agent has it open. The sidebar's "link to problem ticket" is such a change: the
// Groundswell backend sets the ticket's type to incident and its problem_id through Zendesk's API, and
// Zendesk shows the new type and the linked problem on the open ticket. No browser globals: host.ts reads
// the ticket and draws it, this module decides what it shows and which events the apps receive.

export interface HostTicket {
  id: number;
  subject: string;
  /** new, open, pending, hold, solved, closed; "" while not known. */
  status: string;
  /** question, incident, problem, task; "" when the ticket has none (Zendesk shows "-"). */
  type: string;
  /** The problem ticket an incident is linked to. */
  problemId: number | null;
}

export type TicketField = "subject" | "status" | "type" | "problemId";

const FIELDS: readonly TicketField[] = ["subject", "status", "type", "problemId"];

/** The ZAF events for a change of one field of the open ticket (the linked problem has none). */
const CHANGE_EVENTS: Partial<Record<TicketField, string>> = {
  subject: "ticket.subject.changed",
  status: "ticket.status.changed",
  type: "ticket.type.changed",
};

/** A ticket known only by its number. */
export function unknownTicket(id: number): HostTicket {
  return { id, subject: "", status: "", type: "", problemId: null };
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function ticketNumber(value: unknown): number | null {
  const s = typeof value === "number" ? String(value) : text(value);
  return /^[0-9]{1,18}$/.test(s) ? Number(s) : null;
}

/** The ticket in the agent page's answer (`{"ticket": {...}}`, ids as strings), or null if it holds none. */
export function parseTicket(body: unknown): HostTicket | null {
  const raw = typeof body === "object" && body !== null ? (body as Record<string, unknown>).ticket : null;
  if (typeof raw !== "object" || raw === null) return null;
  const t = raw as Record<string, unknown>;
  const id = ticketNumber(t.id);
  if (id === null) return null;
  return { id, subject: text(t.subject), status: text(t.status), type: text(t.type),
           problemId: ticketNumber(t.problem_id) };
}

/** The line under the ticket's title: status and type as Zendesk's ticket fields show them, and the linked
 * problem of an incident. */
export function ticketMeta(t: HostTicket): string {
  const parts = [`Status: ${t.status || "-"}`, `Type: ${t.type || "-"}`];
  if (t.problemId !== null) parts.push(`Linked problem: #${t.problemId}`);
  return parts.join(" · ");
}

export interface Followed {
  ticket: HostTicket;
  changed: TicketField[];
}

/**
 * The open ticket once Zendesk's copy went from `before` (null: not read yet) to `after`. The fields that
 * changed in Zendesk are taken over; the others keep what the agent has on screen (a status the agent set
 * and submitted here stays), as Zendesk merges another user's update into an open ticket. On the first read
 * every field comes from Zendesk and nothing counts as changed: the ticket is loading, not being updated.
 */
export function follow(shown: HostTicket, before: HostTicket | null, after: HostTicket): Followed {
  if (before === null || before.id !== after.id) return { ticket: { ...after }, changed: [] };
  const ticket = { ...shown };
  const changed: TicketField[] = [];
  for (const field of FIELDS) {
    if (before[field] === after[field]) continue;
    if (shown[field] !== after[field]) changed.push(field);
    (ticket as Record<TicketField, unknown>)[field] = after[field];
  }
  return { ticket, changed };
}

/** What the apps in the ticket's sidebar receive for those changes, in order: each changed field's
 * `ticket.<field>.changed` with its new value, then `ticket.updated` with the ticket. */
export function changeEvents(t: HostTicket, changed: readonly TicketField[]): [string, unknown][] {
  if (changed.length === 0) return [];
  const events: [string, unknown][] = [];
  for (const field of changed) {
    const name = CHANGE_EVENTS[field];
    if (name) events.push([name, t[field]]);
  }
  events.push(["ticket.updated", zafTicket(t)]);
  return events;
}

/** The ticket as apps read it through ZAF (`ticket`). */
export function zafTicket(t: HostTicket): { id: number; subject: string; status: string; type: string } {
  return { id: t.id, subject: t.subject, status: t.status, type: t.type };
}
