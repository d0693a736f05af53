// The nav_bar location: the account's open and acknowledged incidents, newest first, refreshed every minute.
import type { Api } from "./api";
import { el } from "./dom";
import type { Formatter } from "./format";
import { t } from "./i18n";
import type { Incident } from "./model";
import { describeError } from "./sidebar";
import { summaryView } from "./views";

export interface NavbarOptions {
  api: Api;
  fmt: Formatter;
  root: HTMLElement;
  refreshMs?: number;
  /** Open a ticket in Zendesk (the incident's problem ticket). */
  openTicket?: (ticketId: string) => void;
}

export interface Navbar {
  refresh(): Promise<void>;
  stop(): void;
}

function item(inc: Incident, fmt: Formatter, openTicket?: (ticketId: string) => void): HTMLElement {
  const headingId = `gs-nav-incident-${inc.id}`;
  return el("li", { class: "gs-card gs-nav-item" },
    el("article", { attrs: { "aria-labelledby": headingId } },
      el("h2", { attrs: { id: headingId } }, t("sidebar.incident.heading", { id: inc.id }), " ",
         el("span", { class: "gs-title" }, inc.title)),
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
      const incidents = await api.openIncidents();
      hadData = true;
      const signature = JSON.stringify(incidents);
      status.textContent = t("navbar.updated", { count: incidents.length });
      if (signature === lastSignature) return;
      lastSignature = signature;
      list.replaceChildren(incidents.length
        ? el("ul", { class: "gs-nav-items" }, ...incidents.map((inc) => item(inc, fmt, opts.openTicket)))
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
