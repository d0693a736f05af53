// The nav_bar location: the account's open and acknowledged incidents, newest first, refreshed every minute.
// Each card leads to its incident on the Groundswell server's incidents page (in a new tab), when the app knows
// the server's address; the status line counts them by status, as the incidents page does.
import type { Api } from "./api";
import { el, link } from "./dom";
import type { Formatter } from "./format";
import { t } from "./i18n";
import type { Incident, IncidentList } from "./model";
import { describeError } from "./sidebar";
import { summaryView } from "./views";

export interface NavbarOptions {
  api: Api;
  fmt: Formatter;
  root: HTMLElement;
  refreshMs?: number;
  /** Open a ticket in Zendesk (the incident's problem ticket). */
  openTicket?: (ticketId: string) => void;
  /** The incident's address on the Groundswell server's incidents page; null (or absent): not known. */
  incidentUrl?: (incidentId: number) => string | null;
}

export interface Navbar {
  refresh(): Promise<void>;
  stop(): void;
}

/** "4 open, 1 acknowledged.", counted from the list; when the list was cut at its limit, the total. */
export function countsText(list: IncidentList): string {
  const { incidents, total } = list;
  if (total > incidents.length) return t("navbar.updated_more", { total, shown: incidents.length });
  const open = incidents.filter((i) => i.status === "open").length;
  const acknowledged = incidents.filter((i) => i.status === "acknowledged").length;
  if (acknowledged === 0) return t("navbar.updated", { count: open });
  if (open === 0) return t("navbar.updated_acknowledged", { count: acknowledged });
  return t("navbar.updated_both", { open, acknowledged });
}

function item(inc: Incident, fmt: Formatter, opts: NavbarOptions): HTMLElement {
  const headingId = `gs-nav-incident-${inc.id}`;
  const { openTicket } = opts;
  const url = opts.incidentUrl?.(inc.id) ?? null;
  const name = [t("sidebar.incident.heading", { id: inc.id }), " ", el("span", { class: "gs-title" }, inc.title)];
  // The heading's link covers the whole card (styles.css), so a click anywhere on it opens the incident.
  return el("li", { class: url ? "gs-card gs-nav-item gs-nav-linked" : "gs-card gs-nav-item" },
    el("article", { attrs: { "aria-labelledby": headingId } },
      el("h2", { attrs: { id: headingId } }, url
        ? link(url, { class: "gs-nav-link" }, ...name, el("span", { class: "gs-visually-hidden" }, " ", t("navbar.new_tab")))
        : el("span", {}, ...name)),
      el("p", { class: `gs-chip gs-status-${inc.status.replace(/[^a-z_]/g, "")}` },
         t(`sidebar.status.${["open", "acknowledged"].includes(inc.status) ? inc.status : "other"}`)),
      inc.sentence ? el("p", { class: "gs-sentence" }, fmt.sentence(inc.sentence, inc.firstSeenAt)) : null,
      summaryView(inc),
      el("p", { class: "gs-muted" }, inc.friction
        ? t("navbar.counts_friction", { sessions: fmt.number(inc.friction.sessions), page: inc.friction.page,
                                        first_seen: fmt.time(inc.firstSeenAt) || "–" })
        : t("navbar.counts", { tickets: fmt.number(inc.ticketCount), customers: fmt.number(inc.requesterCount),
                               first_seen: fmt.time(inc.firstSeenAt) || "–" })),
      inc.problemTicketId !== null && openTicket
        ? el("button", { class: "gs-button", attrs: { type: "button" },
                         on: { click: () => openTicket(String(inc.problemTicketId)) } },
             t("navbar.problem", { problem: inc.problemTicketId }))
        : null));
}

export function startNavbar(opts: NavbarOptions): Navbar {
  const { api, fmt, root } = opts;
  const status = el("p", { class: "gs-live", attrs: { role: "status", "aria-live": "polite" } });
  const list = el("div", { class: "gs-nav-list" }, el("p", { class: "gs-state" }, t("sidebar.loading")));
  root.replaceChildren(el("h1", { class: "gs-nav-heading" }, t("navbar.heading")), status, list);
  let lastSignature = "";
  let hadData = false;
  let inFlight: Promise<void> | null = null;

  async function load(): Promise<void> {
    try {
      const answer = await api.openIncidents();
      const { incidents } = answer;
      hadData = true;
      const signature = JSON.stringify(incidents);
      status.textContent = countsText(answer);
      if (signature === lastSignature) return;
      lastSignature = signature;
      list.replaceChildren(incidents.length
        ? el("ul", { class: "gs-nav-items" }, ...incidents.map((inc) => item(inc, fmt, opts)))
        : el("p", { class: "gs-state gs-empty" }, t("navbar.empty")));
    } catch (err) {
      status.textContent = describeError(err);
      if (!hadData) {
        lastSignature = "";
        list.replaceChildren(el("p", { class: "gs-state gs-error", attrs: { role: "alert" } }, describeError(err)));
      }
    }
  }

  function refresh(): Promise<void> {
    inFlight ??= load().finally(() => { inFlight = null; });
    return inFlight;
  }

  const timer = setInterval(() => void refresh(), opts.refreshMs ?? 60_000);
  void refresh();
  return { refresh, stop: () => clearInterval(timer) };
}
