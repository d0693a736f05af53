// The sidebar's views: pure functions from data and UI state to DOM (built with dom.ts, text only).
// The controller (sidebar.ts) owns state, requests and focus; these only draw and wire buttons to handlers.
import type { Verdict } from "./api";
import { chartView } from "./chartview";
import { el, type Child } from "./dom";
import { duration, type Formatter } from "./format";
import { t } from "./i18n";
import type { AccountNote, Banner, InApp, InAppSession, Incident, IncidentPage, Representative, SessionPage, Signal, TicketContext,
              Topic } from "./model";

/** Sessions of the requester shown in full; the rest are counted. */
const SHOWN_SESSIONS = 3;

export interface UiState {
  /** The action in flight ("link-12", "useful-12", ...), whose button shows progress. */
  busy: string | null;
  /** The topic whose rename form is open. */
  renaming: number | null;
  /** What the agent has typed in a topic's rename field so far, kept across refreshes. */
  drafts: ReadonlyMap<number, string>;
  /** The incident whose link button asks "link anyway?" (the ticket is not one of its tickets). */
  confirming: number | null;
  /** Problem ticket this ticket was linked to in this session, per incident (before the server's answer
   * says so too). */
  linked: ReadonlyMap<number, number>;
  /** Verdict given in this session, per incident (the server's `yourVerdict` covers earlier ones). */
  verdicts: ReadonlyMap<number, Verdict>;
  /** The last background refresh failed: why, and when the answer shown arrived; null when it is current. */
  stale: Stale | null;
}

export interface Stale {
  /** What went wrong, in the words the first load's error uses (`describeError`). */
  reason: string;
  /** When the answer shown arrived (ISO), or null if unknown. */
  since: string | null;
}

export interface Handlers {
  /** Link the ticket to the incident's problem ticket; for a ticket that is not one of the incident's
   * tickets, the first press asks for confirmation and only `confirmLink` links. */
  link(incident: Incident): void;
  confirmLink(incident: Incident): void;
  cancelLink(incident: Incident): void;
  feedback(incident: Incident, verdict: Verdict): void;
  acknowledge(incident: Incident): void;
  startRename(topicId: number): void;
  cancelRename(topicId: number): void;
  /** `given`: the name the field opened on ("" for none); saving that again changes nothing. */
  rename(topicId: number, name: string, given: string): void;
  /** The agent typed in the rename field (nothing is drawn again). */
  draft(topicId: number, name: string): void;
  /** Refresh now (the stale note's Try again), keeping the answer shown until a newer one arrives. */
  retry(): void;
  /** Open another ticket in Zendesk (a representative ticket). */
  openTicket(ticketId: string): void;
}

function button(label: string, focusKey: string, onClick: () => void, busy: string | null,
                extra: Record<string, string | boolean> = {}): HTMLButtonElement {
  const working = busy === focusKey;
  return el("button", {
    class: "gs-button",
    attrs: { type: "button", "data-focus": focusKey, "aria-disabled": busy !== null ? "true" : null,
             "aria-busy": working ? "true" : null,
             ...extra },
    on: { click: () => onClick() },
  }, working ? t("sidebar.working") : label);
}

export function loadingView(): HTMLElement {
  return el("div", { class: "gs-state gs-loading", attrs: { "aria-busy": "true" } }, t("sidebar.loading"));
}

export function errorView(message: string, onRetry: () => void): HTMLElement {
  return el("div", { class: "gs-state gs-error", attrs: { role: "alert" } },
    el("p", {}, t("sidebar.error.title")),
    el("p", { class: "gs-muted" }, message),
    el("button", { class: "gs-button", attrs: { type: "button", "data-focus": "retry" }, on: { click: onRetry } },
       t("sidebar.retry")));
}

/** Over an answer a background refresh could not renew: from when it is, why, and a way to ask again now. */
export function staleView(stale: Stale, fmt: Formatter, busy: string | null, h: Handlers): HTMLElement {
  const since = fmt.clock(stale.since);
  return el("div", { class: "gs-stale" },
    el("p", {}, since ? t("sidebar.stale.since", { time: since }) : t("sidebar.stale.title")),
    el("p", { class: "gs-muted" }, stale.reason),
    button(t("sidebar.retry"), "stale-retry", () => h.retry(), busy));
}

export function unseenView(): HTMLElement {
  return el("div", { class: "gs-state gs-empty" },
    el("p", {}, t("sidebar.empty.unseen")), el("p", { class: "gs-muted" }, t("sidebar.empty.unseen_hint")));
}

/**
 * The known-issue banner. When the incident's card follows it (as the server orders them), the card carries the
 * title and the sentence (a 320 px column reads each once), and the banner says what the card does not: that this
 * ticket is one of the incident's tickets (the counterpart of a card's "Same topic as incident #12" line).
 */
function bannerView(banner: Banner, card: Incident | undefined, fmt: Formatter): HTMLElement {
  return el("div", { class: "gs-banner", attrs: { role: "note", "aria-label": t("sidebar.banner.label") } },
    el("strong", {}, t(card ? "sidebar.banner.attached" : "sidebar.banner.title", { id: banner.incidentId })),
    card ? null : el("p", { class: "gs-banner-title" }, banner.title),
    !card && banner.sentence ? el("p", {}, fmt.sentence(banner.sentence, null)) : null);
}

function stat(term: string, value: Child): Child[] {
  return [el("dt", {}, term), el("dd", {}, value)];
}

function representativesView(reps: Representative[], h: Handlers): Child {
  if (!reps.length) return null;
  return el("div", { class: "gs-reps" },
    el("h3", {}, t("sidebar.representatives")),
    el("ul", {}, ...reps.map((r) => el("li", {},
      /^[0-9]{1,18}$/.test(r.ticketId)
        ? el("button", { class: "gs-ticket-link", attrs: { type: "button", "data-focus": `open-${r.ticketId}`,
                                                           "aria-label": t("sidebar.open_ticket", { id: r.ticketId }) },
                         on: { click: () => h.openTicket(r.ticketId) } }, `#${r.ticketId}`)
        : null,
      " ",
      el("span", { class: "gs-rep-text" }, r.text)))));
}

/**
 * A topic's rename control. The field holds the name people gave the topic, never its keyword label: those are
 * words from customers' tickets, and a name saved as it stands goes out in the known-issue banner. It opens on
 * the topic's name, if it has one, and its keyword label, which an empty name gives it, is the placeholder. A
 * topic known only by what it goes by (an incident's topic, from a server that does not say which that is)
 * opens with the field empty, what it goes by as the placeholder.
 */
function renameView(topicId: number, ref: { label: string; name?: string; keywordLabel?: string },
                    topic: Topic | null, state: UiState, h: Handlers): Child {
  if (state.renaming !== topicId) {
    return button(t("sidebar.rename.button"), `rename-${topicId}`, () => h.startRename(topicId), state.busy);
  }
  const hintId = `gs-rename-hint-${topicId}`;
  const input = el("input", { class: "gs-input", attrs: {
    type: "text", maxlength: 200, "data-focus": `rename-input-${topicId}`,
    id: `gs-rename-input-${topicId}`, "aria-describedby": hintId,
  } });
  const known = topic?.id === topicId ? topic : ref;
  const given = known.name ?? "";
  input.placeholder = known.keywordLabel || ref.label;
  const draft = state.drafts.get(topicId);
  input.value = draft ?? given;
  // A given name is there to edit, selected so that typing replaces it rather than adding to it.
  if (draft === undefined && given) input.addEventListener("focus", () => input.select(), { once: true });
  input.addEventListener("input", () => h.draft(topicId, input.value));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); h.cancelRename(topicId); }
  });
  // The controller may keep the field the agent is typing in across a redraw (this form then holds that
  // element, not `input`): read whichever field the form holds when it is sent. An empty name gives the topic
  // its keyword label back (the API's `name: null`).
  const form = el("form", { class: "gs-rename", on: { submit: (e) => {
    e.preventDefault();
    const field = form.querySelector<HTMLInputElement>("input.gs-input");
    if (field) h.rename(topicId, field.value, given);
  } } },
    el("label", { class: "gs-label", attrs: { for: `gs-rename-input-${topicId}` } }, t("sidebar.rename.label")), input,
    el("button", { class: "gs-button", attrs: { type: "submit", "data-focus": `rename-save-${topicId}`,
                                                "aria-disabled": state.busy !== null ? "true" : null } },
       state.busy === `rename-save-${topicId}` ? t("sidebar.working") : t("sidebar.rename.save")),
    el("button", { class: "gs-button gs-secondary", attrs: { type: "button", "data-focus": `rename-cancel-${topicId}` },
                   on: { click: () => h.cancelRename(topicId) } }, t("sidebar.rename.cancel")),
    // Under the field and its buttons: the name is not only the agents', the widget's known-issue banner names
    // the problem by it (server/widget/service.py, NAMED_MESSAGE).
    el("p", { class: "gs-hint", attrs: { id: hintId } }, t("sidebar.rename.public"), " ", t("sidebar.rename.empty")));
  return form;
}

function linkView(inc: Incident, state: UiState, h: Handlers): Child {
  const linked = state.linked.get(inc.id) ?? (inc.ticketLinked ? inc.problemTicketId ?? undefined : undefined);
  if (linked !== undefined) {
    const id = String(linked);
    return el("p", { class: "gs-linked" }, t("sidebar.link.linked", { problem: linked }), " ",
      el("button", { class: "gs-ticket-link", attrs: { type: "button", "data-focus": `open-problem-${id}` },
                     on: { click: () => h.openTicket(id) } }, t("sidebar.open_ticket", { id })));
  }
  if (state.confirming === inc.id) {
    const questionId = `gs-link-confirm-${inc.id}`;
    const question = inc.problemTicketId !== null
      ? t("sidebar.link.confirm_existing", { id: inc.id, problem: inc.problemTicketId })
      : t("sidebar.link.confirm_create", { id: inc.id });
    return el("div", { class: "gs-confirm", attrs: { role: "group", "aria-labelledby": questionId },
                       on: { keydown: (e) => { if (e.key === "Escape") { e.preventDefault(); h.cancelLink(inc); } } } },
      el("p", { attrs: { id: questionId } }, question),
      button(t("sidebar.link.confirm"), `link-confirm-${inc.id}`, () => h.confirmLink(inc), state.busy),
      button(t("sidebar.link.cancel"), `link-cancel-${inc.id}`, () => h.cancelLink(inc), state.busy,
             { class: "gs-button gs-secondary" }));
  }
  const label = inc.problemTicketId !== null ? t("sidebar.link.existing", { problem: inc.problemTicketId })
    : t("sidebar.link.create");
  return button(label, `link-${inc.id}`, () => h.link(inc), state.busy);
}

function feedbackView(inc: Incident, state: UiState, h: Handlers): Child {
  const given = state.verdicts.get(inc.id) ?? inc.yourVerdict;
  return el("div", { class: "gs-feedback", attrs: { role: "group", "aria-label": t("sidebar.feedback.label") } },
    button(t("sidebar.feedback.useful"), `useful-${inc.id}`, () => h.feedback(inc, "useful"), state.busy,
           { "aria-pressed": given === "useful" ? "true" : "false" }),
    button(t("sidebar.feedback.noise"), `noise-${inc.id}`, () => h.feedback(inc, "noise"), state.busy,
           { "aria-pressed": given === "noise" ? "true" : "false" }));
}

function incidentPagesView(pages: IncidentPage[], fmt: Formatter): Child {
  // only the pages the incident names: a large customer's everyday friction elsewhere is no place to look
  const shown = pages.filter((p) => p.associated && p.users > 0).slice(0, 3);
  if (!shown.length) return null;
  return el("div", { class: "gs-pages" },
    el("h3", {}, t("sidebar.pages.heading")),
    el("ul", {}, ...shown.map((p) => el("li", {},
      el("span", { class: "gs-path" }, p.path), " · ",
      t("sidebar.pages.customers", { count: p.users, n: fmt.number(p.users) })))));
}

function signalsText(signals: [Signal, number][], fmt: Formatter): string {
  return signals.map(([s, n]) => t(`sidebar.signals.${s}`, { count: n, n: fmt.number(n) })).join(", ");
}

/** How long before the ticket a session began ("40 minutes", "less than a minute"). */
function before(minutes: number): string {
  return minutes < 1 ? t("sidebar.in_app.now") : duration(minutes);
}

function sessionPageView(page: SessionPage, fmt: Formatter): HTMLElement {
  return el("li", {},
    el("span", { class: "gs-path" }, page.path),
    page.stuck ? el("span", { class: "gs-chip gs-stuck", attrs: { title: t("sidebar.in_app.stuck_label") } },
                    t("sidebar.in_app.stuck")) : null,
    el("span", { class: "gs-signals" }, ": ", signalsText(page.signals, fmt)),
    page.failures.length
      ? el("ul", { class: "gs-failures" }, ...page.failures.map((f) =>
          el("li", {}, el("code", {}, f.request), ` ×${fmt.number(f.count)}`)))
      : null,
    page.incident
      ? el("p", { class: "gs-page-incident" }, t("sidebar.in_app.incident", { id: page.incident.id }), " ",
           el("span", { class: "gs-title" }, page.incident.title))
      : null);
}

function sessionView(session: InAppSession, fmt: Formatter): HTMLElement {
  const friction = session.pages.filter((p) => p.signals.length);
  const visited = session.pages.map((p) => p.path);
  return el("div", { class: "gs-session" },
    el("p", { class: "gs-session-head" },
       t("sidebar.in_app.session", { time: session.startedAt ? fmt.time(session.startedAt) : "–",
                                     before: before(session.minutesBefore) })),
    friction.length
      ? el("ul", { class: "gs-session-pages" }, ...friction.map((p) => sessionPageView(p, fmt)))
      : el("p", { class: "gs-muted" }, t("sidebar.in_app.no_friction", { pages: visited.join(", ") || "–" })),
    ...session.nudges.map((n) => el("p", { class: "gs-nudge" },
      n.title ? t("sidebar.in_app.nudge", { title: n.title, path: n.path, time: n.at ? fmt.time(n.at) : "–" })
              : t("sidebar.in_app.nudge_untitled", { path: n.path, time: n.at ? fmt.time(n.at) : "–" }))));
}

export function inAppView(inApp: InApp, fmt: Formatter): HTMLElement {
  const headingId = "gs-in-app";
  const more = inApp.sessions.length - SHOWN_SESSIONS;
  return el("section", { class: "gs-card gs-in-app", attrs: { "aria-labelledby": headingId } },
    el("h2", { attrs: { id: headingId } }, t("sidebar.in_app.heading")),
    ...inApp.sessions.slice(0, SHOWN_SESSIONS).map((s) => sessionView(s, fmt)),
    more > 0 ? el("p", { class: "gs-muted" }, t("sidebar.in_app.more", { count: more })) : null);
}

export function accountView(note: AccountNote, fmt: Formatter): HTMLElement {
  const headingId = "gs-account";
  const change = note.expected > 0
    ? (note.direction === "up" ? `${(note.observed / note.expected).toFixed(1)}x`
      : `${Math.round((note.observed / note.expected - 1) * 100)}%`) : "–";
  const window = note.days === 1 ? t("sidebar.account.window_day") : t("sidebar.account.window_days", { n: note.days });
  return el("section", { class: "gs-card gs-account", attrs: { "aria-labelledby": headingId } },
    el("h2", { attrs: { id: headingId } }, t(`sidebar.account.heading_${note.source}`), " ",
       el("span", { class: "gs-title" }, note.name ? `${note.name} (${note.accountId})` : note.accountId)),
    el("p", { class: `gs-chip gs-account-${note.direction}` }, t(`sidebar.account.${note.signal}_${note.direction}`)),
    el("p", {}, t("sidebar.account.detail", { observed: fmt.number(note.observed), window,
                                              what: t(`sidebar.account.noun_${note.signal}`, { count: note.observed }),
                                              expected: fmt.number(Math.round(note.expected * 10) / 10), change }),
       note.requesters ? " " + t("sidebar.account.people", { count: note.requesters, n: note.requesters }) : ""),
    note.history.length ? el("p", { class: "gs-muted" }, t("sidebar.account.history", { counts: note.history.join(", ") }))
      : null);
}

/** Claude's summary of an incident's tickets, labelled as the model's words; null when there is none. */
export function summaryView(inc: Incident): HTMLElement | null {
  return inc.llmSummary
    ? el("p", { class: "gs-summary" }, el("span", { class: "gs-summary-label" }, t("sidebar.incident.summary")), " ",
         inc.llmSummary)
    : null;
}

/**
 * One incident's card. `rename` says whether this card holds its topic's rename control (only the first card of
 * a topic does). A ticket that is not one of the incident's tickets (it shares its topic) is told so.
 *
 * The agent's main action, linking the ticket to the incident's problem ticket (or its result, "Linked to
 * problem #P."), comes right under the heading, where it shows without scrolling; the evidence follows, and
 * the verdict, acknowledge and rename buttons close the card, once the agent has read it.
 */
export function incidentView(inc: Incident, topic: Topic | null, fmt: Formatter, state: UiState,
                             h: Handlers, rename = true): HTMLElement {
  const headingId = `gs-incident-${inc.id}`;
  const topicRef = inc.topic ?? (topic ? { id: topic.id, label: topic.label } : null);
  const volume = inc.volume.length ? inc.volume : topic?.volume ?? [];
  const reps = inc.evidence.representatives.length ? inc.evidence.representatives : topic?.representatives ?? [];
  return el("section", { class: "gs-card gs-incident", attrs: { "aria-labelledby": headingId } },
    el("h2", { attrs: { id: headingId, tabindex: -1, "data-focus": `incident-${inc.id}` } },
       t("sidebar.incident.heading", { id: inc.id }), " ", el("span", { class: "gs-title" }, inc.title)),
    el("p", { class: `gs-chip gs-status-${inc.status.replace(/[^a-z_]/g, "")}` },
       t(`sidebar.status.${["open", "acknowledged"].includes(inc.status) ? inc.status : "other"}`)),
    inc.attached ? null : el("p", { class: "gs-relation" }, t("sidebar.incident.same_topic", { id: inc.id })),
    el("div", { class: "gs-primary" }, linkView(inc, state, h)),
    inc.sentence ? el("p", { class: "gs-sentence" }, fmt.sentence(inc.sentence, inc.firstSeenAt)) : null,
    summaryView(inc),
    el("dl", { class: "gs-stats" },
      ...stat(t("sidebar.stats.tickets"), fmt.number(inc.ticketCount)),
      ...stat(t("sidebar.stats.customers"), fmt.number(inc.requesterCount)),
      ...(inc.accountCount !== null ? stat(t("sidebar.stats.accounts"), fmt.number(inc.accountCount)) : []),
      ...stat(t("sidebar.stats.first_seen"), inc.firstSeenAt
        ? `${fmt.time(inc.firstSeenAt)} (${t("sidebar.ago.suffix", { ago: fmt.ago(inc.firstSeenAt) })})` : "–"),
      ...(topicRef ? stat(t("sidebar.stats.topic"), topicRef.label) : [])),
    chartView(volume, fmt, inc.firstSeenAt ?? inc.detectedAt),
    incidentPagesView(inc.pages, fmt),
    representativesView(reps, h),
    el("div", { class: "gs-actions" },
      feedbackView(inc, state, h),
      inc.status === "open"
        ? button(t("sidebar.acknowledge"), `ack-${inc.id}`, () => h.acknowledge(inc), state.busy) : null,
      topicRef && rename ? renameView(topicRef.id, topicRef, topic, state, h) : null));
}

export function topicView(topic: Topic, fmt: Formatter, state: UiState, h: Handlers): HTMLElement {
  const headingId = `gs-topic-${topic.id}`;
  return el("section", { class: "gs-card gs-topic", attrs: { "aria-labelledby": headingId } },
    el("h2", { attrs: { id: headingId, tabindex: -1, "data-focus": `topic-${topic.id}` } }, t("sidebar.topic.heading"), " ",
       el("span", { class: "gs-title" }, topic.label)),
    el("p", { class: "gs-muted" }, t("sidebar.topic.no_incident")),
    el("dl", { class: "gs-stats" },
      ...stat(t("sidebar.stats.tickets"), fmt.number(topic.size)),
      ...stat(t("sidebar.stats.first_seen"), topic.firstSeenAt ? fmt.time(topic.firstSeenAt) : "–")),
    chartView(topic.volume, fmt),
    representativesView(topic.representatives, h),
    el("div", { class: "gs-actions" }, renameView(topic.id, topic, topic, state, h)));
}

export function contextView(ctx: TicketContext, fmt: Formatter, state: UiState, h: Handlers): HTMLElement {
  const parts: Child[] = [];
  if (state.stale) parts.push(staleView(state.stale, fmt, state.busy, h));
  const named = ctx.banner ? ctx.incidents.find((i) => i.id === ctx.banner!.incidentId) : undefined;
  // "Known issue" only for an incident this ticket is one of (an older server named one on its topic alone).
  if (ctx.banner && named?.attached !== false) parts.push(bannerView(ctx.banner, named, fmt));
  const renameShown = new Set<number>();
  for (const inc of ctx.incidents) {
    const topicId = inc.topic?.id ?? ctx.topic?.id;
    parts.push(incidentView(inc, ctx.topic, fmt, state, h, topicId === undefined || !renameShown.has(topicId)));
    if (topicId !== undefined) renameShown.add(topicId);
  }
  if (!ctx.incidents.length) {
    parts.push(ctx.topic ? topicView(ctx.topic, fmt, state, h)
      : el("div", { class: "gs-state gs-empty" }, el("p", {}, t("sidebar.empty.none"))));
  }
  if (ctx.account) parts.push(accountView(ctx.account, fmt));
  if (ctx.inApp) parts.push(inAppView(ctx.inApp, fmt));
  return el("div", { class: "gs-context" }, ...parts);
}
