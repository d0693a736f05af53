// Starting the app once Zendesk has registered it: who the agent is, then the view for this location.
import { createApi, incidentPageUrl, ticketIdOf } from "./api";
import { createFormatter } from "./format";
import { t } from "./i18n";
import { startNavbar } from "./navbar";
import { startSidebar } from "./sidebar";
import type { Zaf } from "./zaf";

interface Agent {
  label: string;
  locale?: string;
  timeZone?: string;
}

/** "Name <email>" (or whichever exists) from Zendesk's currentUser, bounded to what the backend accepts. */
export function agentOf(user: unknown): Agent {
  const u = typeof user === "object" && user !== null ? (user as Record<string, unknown>) : {};
  const name = typeof u.name === "string" ? u.name.trim() : "";
  const email = typeof u.email === "string" ? u.email.trim() : "";
  const label = name && email ? `${name} <${email}>` : name || email || t("sidebar.unknown_agent");
  const tz = typeof u.timeZone === "object" && u.timeZone !== null ? (u.timeZone as Record<string, unknown>) : {};
  return {
    label: label.slice(0, 200),
    locale: typeof u.locale === "string" ? u.locale : undefined,
    timeZone: typeof tz.ianaName === "string" ? tz.ianaName : undefined,
  };
}

export async function start(zaf: Zaf, root: HTMLElement): Promise<void> {
  const agent = agentOf(await zaf.get("currentUser").catch(() => null));
  const fmt = createFormatter(agent.locale, agent.timeZone);
  const api = createApi(zaf);
  if (zaf.location === "nav_bar") {
    startNavbar({ api, fmt, root, openTicket: (id) => void zaf.invoke("routeTo", "ticket", id).catch(() => undefined),
                  incidentUrl: (id) => incidentPageUrl(zaf.settings, id) });
    return;
  }
  const ticketId = ticketIdOf(await zaf.get("ticket.id"));
  if (!ticketId) throw new Error("no ticket");
  startSidebar({ zaf, api, fmt, root, agent: agent.label, ticketId });
}
