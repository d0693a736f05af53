// The fake Zendesk agent workspace (served at /demo/zendesk): it lists the tenant's tickets, opens one with the
// REAL app bundle in its sidebar, and opens the nav-bar view; zaf_host.ts speaks the ZAF protocol to the apps.
// An open ticket shows its fields as the tenant's Zendesk has them (the demo's fake Zendesk), read again after
// each write the app makes and every 20 seconds, so that what the sidebar changes there (linking the ticket
// to a problem ticket makes it an incident) shows on the ticket as it would in Zendesk. The address names the
// open ticket (`#ticket=<id>`): the incidents page links its ticket numbers so, and a reload keeps the ticket.
import "./host.css";
import { AppFrame, frames, listen, saveSecrets, settings } from "./zaf_host";
import { changeEvents, follow, parseTicket, ticketMeta, unknownTicket, type HostTicket } from "./ticket";

function $(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

function say(message: string): void {
  $("host-status").textContent = message;
}

/** What the status line last said about the ticket list, said again when the agent comes back to it. */
let listLine = "";
let sidebarFrame: AppFrame | null = null;
let navFrame: AppFrame | null = null;
/** The open ticket as Zendesk had it when last read (null: not read yet). */
let remote: HostTicket | null = null;
let reading: Promise<void> = Promise.resolve();
let pollTimer: ReturnType<typeof setInterval> | undefined;
/** How often the open ticket is read again, for changes made in Zendesk by others (automatic linking). */
const POLL_MS = 20_000;
const HERE = location.pathname.replace(/\/+$/, "");

/** The ticket the address names (`#ticket=<id>`, beside anything else the fragment holds), or null. */
function ticketInAddress(): number | null {
  const raw = new URLSearchParams(location.hash.slice(1)).get("ticket") ?? "";
  return /^[0-9]{1,18}$/.test(raw) ? Number(raw) : null;
}

/** Keep the address naming the open ticket (none: the list), without a new history entry. */
function address(id: number | null): void {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (id === null) fragment.delete("ticket");
  else fragment.set("ticket", String(id));
  const rest = fragment.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}

function mount(slot: HTMLElement, frame: AppFrame): void {
  for (const f of frames) if (slot.contains(f.iframe)) frames.delete(f);
  frames.add(frame);
  slot.replaceChildren(frame.iframe);
}

function show(pane: "token" | "tickets" | "ticket" | "nav"): void {
  // While the token is asked for, the address keeps the ticket to open once it is given.
  if (pane !== "token") address(pane === "ticket" ? sidebarFrame?.ticket?.id ?? null : null);
  for (const name of ["token", "tickets", "ticket", "nav"]) $(`${name}-pane`).hidden = name !== pane;
  if (pane === "tickets" && listLine) say(listLine);
  $("nav-tickets").toggleAttribute("aria-current", pane !== "nav");
  $("nav-app").toggleAttribute("aria-current", pane === "nav");
  if (pane !== "nav") $("nav-tickets").setAttribute("aria-current", "page");
  else $("nav-app").setAttribute("aria-current", "page");
}

function renderTicketHeader(ticket: HostTicket): void {
  $("ticket-title").textContent = ticket.subject ? `#${ticket.id} ${ticket.subject}` : `#${ticket.id}`;
  $("ticket-meta").textContent = ticketMeta(ticket);
}

/** The ticket as the tenant's Zendesk has it now (or as Groundswell last heard of it); null if neither knows it. */
async function readTicket(id: number): Promise<HostTicket | null> {
  const response = await fetch(`${HERE}/tickets/${id}.json`, {
    headers: { Authorization: `Bearer ${settings.api_token}` }, credentials: "omit",
  });
  return response.ok ? parseTicket(await response.json()) : null;
}

/** Bring the open ticket up to date with Zendesk and tell its apps what changed, as Zendesk does. */
async function syncTicket(frame: AppFrame): Promise<void> {
  const id = frame.ticket?.id;
  if (id === undefined) return;
  const fresh = await readTicket(id);
  if (!fresh || frame !== sidebarFrame || !frame.ticket || frame.ticket.id !== fresh.id) return;
  const { ticket, changed } = follow(frame.ticket, remote, fresh);
  remote = fresh;
  frame.ticket = ticket;
  renderTicketHeader(ticket);
  for (const [event, data] of changeEvents(ticket, changed)) frame.fire(event, data);
  if (changed.length > 0) say(`Ticket #${id} was updated in Zendesk: ${ticketMeta(ticket)}.`);
}

/** Reads one at a time, in order, so that an older answer never lands after a newer one. */
function queueSync(frame: AppFrame): Promise<void> {
  reading = reading.then(() => syncTicket(frame)).catch(() => undefined);
  return reading;
}

/**
 * Shows the ticket with the app in its sidebar. The focus moves to its title when the agent opened it from
 * this page (the list, the form, the app, the token form), so that it is not left on a hidden control; a
 * ticket the page opens as it loads takes no focus, where nothing had it yet (the browser would draw a ring
 * around the title as if the agent had moved there with the keyboard).
 */
function openTicket(ticket: HostTicket, focus = true): void {
  say("");  // what it said was about the list or the ticket open before
  renderTicketHeader(ticket);
  sidebarFrame = new AppFrame("ticket_sidebar", ticket);
  remote = null;
  mount($("sidebar-slot"), sidebarFrame);
  show("ticket");
  if (focus) $("ticket-title").focus();
  const frame = sidebarFrame;
  void queueSync(frame);
  clearInterval(pollTimer);
  pollTimer = setInterval(() => {
    if (frame === sidebarFrame && !$("ticket-pane").hidden) void queueSync(frame);
  }, POLL_MS);
}

let known: HostTicket[] = [];

interface ListedTicket {
  id: string; subject: string | null; status: string | null; type?: string | null; incident_id?: number | null;
}

async function fetchTickets(query: string): Promise<ListedTicket[] | null> {
  const response = await fetch(`${HERE}/tickets.json${query}`, {
    headers: { Authorization: `Bearer ${settings.api_token}` }, credentials: "omit",
  });
  if (response.status === 401) return null;
  return ((await response.json()) as { tickets?: ListedTicket[] }).tickets ?? [];
}

function ticketItems(rows: ListedTicket[]): HTMLLIElement[] {
  return rows.map((row) => {
    const ticket: HostTicket = { ...unknownTicket(Number(row.id)), subject: row.subject ?? "",
                                 status: row.status ?? "", type: row.type ?? "" };
    if (!known.some((t) => t.id === ticket.id)) known.push(ticket);
    const button = document.createElement("button");
    button.type = "button";
    const status = document.createElement("span");
    status.className = "zd-ticket-status";
    status.textContent = ticket.status || "new";
    // the subject in its own column beside the status, so a long one wraps under itself on a phone
    const what = document.createElement("span");
    what.className = "zd-ticket-what";
    what.append(`#${ticket.id} `, ticket.subject);
    button.append(status, what);
    if (typeof row.incident_id === "number") {
      const badge = document.createElement("span");
      badge.className = "zd-badge";
      badge.textContent = `incident #${row.incident_id}`;
      what.append(" ", badge);
    }
    button.addEventListener("click", () => openTicket(ticket));
    const item = document.createElement("li");
    item.append(button);
    return item;
  });
}

/** Tickets of a live incident listed first (the newest of them). */
const LIVE_SHOWN = 10;

/** What the status line says about the newest tickets: counted from the rows shown, as their marks read. */
function listSummary(newest: ListedTicket[]): string {
  const marked = newest.filter((row) => typeof row.incident_id === "number").length;
  return `${newest.length} newest tickets, ${marked} of them in a live incident.`;
}

async function loadTickets(): Promise<void> {
  say("Loading tickets…");
  const [newest, live] = await Promise.all([fetchTickets(""), fetchTickets(`?in_incident=true&limit=${LIVE_SHOWN}`)]);
  if (newest === null || live === null) {
    settings.api_token = "";
    saveSecrets();
    show("token");
    // in the words the server's pages use for a refused token (server/static/page.js, GS.tokenRefused)
    say("That API token was not accepted. Paste the tenant's token (gs_sk_…) again: `groundswell demo` prints the demo's.");
    return;
  }
  known = [];
  $("incident-list").replaceChildren(...ticketItems(live));
  // That list is cut at LIVE_SHOWN: its heading says so rather than pass its length for a count.
  $("incident-heading").textContent = live.length >= LIVE_SHOWN
    ? `In a live incident: the ${live.length} newest` : "In a live incident";
  $("incident-tickets").hidden = live.length === 0;
  $("ticket-list").replaceChildren(...ticketItems(newest));
  listLine = listSummary(newest);
  if (!$("tickets-pane").hidden) say(listLine);  // else once the agent is back at the list
}

/** The list, then the ticket the address names, if any, over it (`focus`: see openTicket). */
function begin(focus: boolean): void {
  const id = ticketInAddress();
  show("tickets");
  void loadTickets().catch(() => say("Could not load tickets."));
  if (id !== null) openTicket(unknownTicket(id), focus);
}

/** A ticket named by a changed address (typed, or a link followed in this tab), unless it is open already. */
function openFromAddress(): void {
  const id = ticketInAddress();
  if (id === null || (sidebarFrame?.ticket?.id === id && !$("ticket-pane").hidden)) return;
  openTicket(known.find((t) => t.id === id) ?? unknownTicket(id));
}

function start(): void {
  // Opened from the incidents page (rel="opener", so that its token came along): this page has no use for it.
  window.opener = null;
  listen({
    notify: say,
    routeToTicket: (id) => openTicket(known.find((t) => t.id === id) ?? unknownTicket(id)),
    afterWrite: (frame) => { if (frame === sidebarFrame) void queueSync(frame); },
  });
  $("ticket-title").tabIndex = -1;
  $("nav-tickets").addEventListener("click", () => show(sidebarFrame && !$("ticket-pane").hidden ? "ticket" : "tickets"));
  $("back-button").addEventListener("click", () => show("tickets"));
  $("nav-app").addEventListener("click", () => {
    if (!navFrame) {
      navFrame = new AppFrame("nav_bar", null);
      mount($("navbar-slot"), navFrame);
    }
    show("nav");
  });
  $("update-ticket").addEventListener("click", () => {
    if (!sidebarFrame?.ticket) return;
    sidebarFrame.ticket = { ...sidebarFrame.ticket, status: "open" };
    renderTicketHeader(sidebarFrame.ticket);
    sidebarFrame.fire("ticket.updated", sidebarFrame.ticket);
    say("Ticket updated.");
  });
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = ($("open-input") as HTMLInputElement).value.trim();
    if (!/^[0-9]{1,18}$/.test(raw)) return;
    openTicket(known.find((t) => String(t.id) === raw) ?? unknownTicket(Number(raw)));
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    settings.api_token = ($("token-input") as HTMLInputElement).value.trim();
    saveSecrets();
    begin(true);
  });
  window.addEventListener("hashchange", () => { if (settings.api_token) openFromAddress(); });
  if (!settings.api_token) {
    show("token");
    return;
  }
  begin(false);
}

start();
