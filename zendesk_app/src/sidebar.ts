// The ticket_sidebar location: loads the ticket's context, renders it, runs the agent's actions, keeps focus
// where the agent was, announces results through one live region, resizes the iframe, and refreshes on
// `ticket.updated` and every minute. A refresh never takes away what the agent is typing: the field being
// edited is carried over into the new view as it is, and drafts are kept per topic. While a refresh waits for
// the server, the answer shown is marked busy, and one that takes longer than a moment says "Refreshing…".
import { ConfigError, type Api, type Verdict } from "./api";
import { el } from "./dom";
import type { Formatter } from "./format";
import { t } from "./i18n";
import type { Incident, TicketContext } from "./model";
import { RequestError, type Zaf } from "./zaf";
import { contextView, errorView, loadingView, unseenView, type Handlers, type Stale, type UiState } from "./views";

export interface SidebarOptions {
  zaf: Zaf;
  api: Api;
  fmt: Formatter;
  root: HTMLElement;
  /** Who acts: the agent's name and email, recorded with feedback, status changes and links. */
  agent: string;
  ticketId: string;
  refreshMs?: number;
  /** How long a refresh waits before it says so (WAITING_MS by default). */
  waitingMs?: number;
  /** Measures the content height for `resize` (the default reads the document). */
  measure?: () => number;
  /** The clock the answers are dated by (ms since the epoch). */
  now?: () => number;
}

export interface Sidebar {
  refresh(): Promise<void>;
  stop(): void;
}

type Data = { kind: "loading" } | { kind: "unseen" } | { kind: "error"; message: string }
  | { kind: "ready"; ctx: TicketContext };

export const MIN_HEIGHT = 80;
/** A refresh answered sooner shows no "Refreshing…": the note would only flicker. */
export const WAITING_MS = 500;
/** The stale note's Try again button (its `data-focus` and its `busy` key). */
const STALE_RETRY = "stale-retry";
export const MAX_HEIGHT = 2000;

/** A message the agent can read for any failure; server messages are shown as text. */
export function describeError(err: unknown): string {
  if (err instanceof ConfigError) return t("sidebar.error.config");
  if (err instanceof RequestError) {
    if (err.status === 0) return t("sidebar.error.network");
    if (err.status === 401) return t("sidebar.error.auth");
    if (err.status === 429) return t("sidebar.error.busy");
    return err.message || t("sidebar.error.generic");
  }
  return t("sidebar.error.generic");
}

function defaultMeasure(root: HTMLElement): number {
  return Math.ceil(Math.max(root.scrollHeight, root.getBoundingClientRect().height));
}

export function startSidebar(opts: SidebarOptions): Sidebar {
  const { zaf, api, fmt, root, agent, ticketId } = opts;
  const measure = opts.measure ?? (() => defaultMeasure(root));
  const now = opts.now ?? Date.now;
  const live = el("p", { class: "gs-live", attrs: { role: "status", "aria-live": "polite" } });
  const content = el("div", { class: "gs-content" });
  const waiting = el("p", { class: "gs-waiting", attrs: { hidden: true } }, t("sidebar.refreshing"));
  root.replaceChildren(live, waiting, content);
  let waitingTimer: ReturnType<typeof setTimeout> | null = null;

  let data: Data = { kind: "loading" };
  const ui: { busy: string | null; renaming: number | null; confirming: number | null; stale: Stale | null } =
    { busy: null, renaming: null, confirming: null, stale: null };
  /** When the answer shown arrived (ISO), for the stale note's "the answer from 14:02". */
  let answeredAt: string | null = null;
  const linked = new Map<number, number>();
  /** Typed into rename fields and not yet saved or cancelled (not part of the signature: typing draws nothing). */
  const drafts = new Map<number, string>();
  const verdicts = new Map<number, Verdict>();
  let lastSignature = "";
  let lastHeight = -1;
  let pendingFocus: string | null = null;
  let inFlight: Promise<void> | null = null;
  let stopped = false;

  function announce(message: string, isError = false): void {
    live.classList.toggle("gs-live-error", isError);
    live.textContent = message;
  }

  function resize(): void {
    const height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, measure()));
    if (height === lastHeight) return;
    lastHeight = height;
    zaf.invoke("resize", { width: "100%", height: `${height}px` }).catch(() => undefined);
  }

  const state = (): UiState => ({ ...ui, linked, verdicts, drafts });

  /**
   * A refresh under way: what is shown is marked busy (aria-busy, for screen readers) at once, and after
   * WAITING_MS without an answer the note says it is refreshing. Both go when the answer (or the failure) is in.
   */
  function waitStarted(): void {
    content.setAttribute("aria-busy", "true");
    waitingTimer = setTimeout(() => {
      waitingTimer = null;
      waiting.hidden = false;
      resize();
    }, opts.waitingMs ?? WAITING_MS);
  }

  function waitEnded(): void {
    if (waitingTimer !== null) clearTimeout(waitingTimer);
    waitingTimer = null;
    content.removeAttribute("aria-busy");
    if (waiting.hidden) return;
    waiting.hidden = true;
    resize();
  }

  function render(): void {
    const signature = JSON.stringify([data, ui, [...linked], [...verdicts]]);
    if (signature === lastSignature && pendingFocus === null) return;
    lastSignature = signature;
    const active = document.activeElement;
    const focusKey = pendingFocus ?? (active && content.contains(active) ? active.getAttribute("data-focus") : null);
    pendingFocus = null;
    let view: HTMLElement;
    if (data.kind === "loading") view = loadingView();
    else if (data.kind === "unseen") view = unseenView();
    else if (data.kind === "error") view = errorView(data.message, () => void refresh(false));
    else view = contextView(data.ctx, fmt, state(), handlers);
    const kept = keepEditing(view);
    content.replaceChildren(view);
    if (focusKey) {
      const target = content.querySelector<HTMLElement>(`[data-focus="${focusKey}"]`);
      target?.focus();
    }
    if (kept && document.activeElement === kept.field) kept.field.setSelectionRange(kept.start, kept.end, kept.direction);
    resize();
  }

  /**
   * The text field the agent is typing in, if the new view has its place (the same `data-focus`), moves into
   * the new view instead of a fresh copy: its text, caret and selection stay as they were.
   */
  function keepEditing(view: HTMLElement): { field: HTMLInputElement; start: number; end: number;
                                             direction: "forward" | "backward" | "none" } | null {
    const field = document.activeElement;
    if (!(field instanceof HTMLInputElement) || !content.contains(field)) return null;
    const key = field.getAttribute("data-focus");
    const slot = key ? view.querySelector<HTMLInputElement>(`input[data-focus="${key}"]`) : null;
    if (!slot) return null;
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    const direction = field.selectionDirection ?? "none";
    slot.replaceWith(field);
    return { field, start, end, direction };
  }

  async function load(background: boolean): Promise<void> {
    try {
      const ctx = await api.ticketContext(ticketId, agent);
      data = ctx === null ? { kind: "unseen" } : { kind: "ready", ctx };
      answeredAt = new Date(now()).toISOString();
      ui.stale = null;
    } catch (err) {
      // A background refresh keeps the answer shown, saying why it is not newer and from when it is.
      if (background && data.kind === "ready") ui.stale = { reason: describeError(err), since: answeredAt };
      else data = { kind: "error", message: describeError(err) };
    }
    if (background) waitEnded();
    if (!stopped) render();
  }

  function refresh(background = true): Promise<void> {
    if (inFlight) return inFlight;
    if (!background) {
      data = { kind: "loading" };  // its view is busy and says it is loading
      render();
    } else {
      waitStarted();
    }
    inFlight = load(background).finally(() => { inFlight = null; });
    return inFlight;
  }

  /** Where the focus goes when the stale note, and its Try again button, are gone: the first card's heading. */
  function firstHeading(): string | null {
    if (data.kind !== "ready") return null;
    const inc = data.ctx.incidents[0];
    return inc ? `incident-${inc.id}` : data.ctx.topic ? `topic-${data.ctx.topic.id}` : null;
  }

  /** The stale note's Try again: refresh now, keeping the answer shown until a newer one arrives. */
  async function refreshNow(): Promise<void> {
    if (ui.busy) return;
    ui.busy = STALE_RETRY;
    pendingFocus = STALE_RETRY;
    render();
    await inFlight?.catch(() => undefined); // one under way began before the press: ask again
    await refresh(true);
    ui.busy = null;
    if (ui.stale) {
      pendingFocus = STALE_RETRY;
      announce(ui.stale.reason, true);
    } else {
      pendingFocus = firstHeading();
      announce(t("sidebar.refreshed"));
    }
    if (!stopped) render();
  }

  async function act(key: string, work: () => Promise<string>, focusAfter: string | null = key): Promise<void> {
    if (ui.busy) return;
    ui.busy = key;
    pendingFocus = key;
    render();
    try {
      announce(await work());
    } catch (err) {
      announce(describeError(err), true);
    } finally {
      ui.busy = null;
      pendingFocus = focusAfter;
      render();
    }
    await inFlight?.catch(() => undefined); // a refresh that began before the action would show old data
    await refresh(true);
  }

  const linkNow = (inc: Incident, key: string) => void act(key, async () => {
    const result = await api.linkProblem(inc.id, ticketId, agent);
    linked.set(inc.id, result.problemTicketId);
    ui.confirming = null;
    return t(result.created ? "sidebar.link.done_created" : "sidebar.link.done",
             { ticket: ticketId, problem: result.problemTicketId });
  }, `incident-${inc.id}`);

  const handlers: Handlers = {
    link: (inc: Incident) => {
      if (inc.attached) {
        linkNow(inc, `link-${inc.id}`);
        return;
      }
      if (ui.busy) return;
      ui.confirming = inc.id;  // the ticket only shares the incident's topic: ask first
      pendingFocus = `link-confirm-${inc.id}`;
      render();
    },
    confirmLink: (inc: Incident) => linkNow(inc, `link-confirm-${inc.id}`),
    cancelLink: (inc: Incident) => {
      if (ui.busy) return;
      ui.confirming = null;
      pendingFocus = `link-${inc.id}`;
      render();
    },
    feedback: (inc: Incident, verdict: Verdict) => void act(`${verdict}-${inc.id}`, async () => {
      await api.feedback(inc.id, verdict, agent);
      verdicts.set(inc.id, verdict);
      return t(`sidebar.feedback.done_${verdict}`);
    }),
    acknowledge: (inc: Incident) => void act(`ack-${inc.id}`, async () => {
      await api.acknowledge(inc.id, agent);
      return t("sidebar.acknowledged", { id: inc.id });
    }, `incident-${inc.id}`),
    startRename: (topicId: number) => {
      ui.renaming = topicId;
      pendingFocus = `rename-input-${topicId}`;
      render();
    },
    cancelRename: (topicId: number) => {
      ui.renaming = null;
      drafts.delete(topicId);
      pendingFocus = `rename-${topicId}`;
      render();
    },
    rename: (topicId: number, name: string, given: string) => void act(`rename-save-${topicId}`, async () => {
      const wanted = name.trim().slice(0, 200);
      const unchanged = wanted === given.trim();
      if (!unchanged) await api.renameTopic(topicId, name);
      ui.renaming = null;
      drafts.delete(topicId);
      if (unchanged) return t("sidebar.rename.unchanged");
      return wanted ? t("sidebar.rename.done", { name: wanted }) : t("sidebar.rename.reset");
    }, `rename-${topicId}`),
    draft: (topicId: number, name: string) => { drafts.set(topicId, name); },
    retry: () => void refreshNow(),
    openTicket: (id: string) => {
      zaf.invoke("routeTo", "ticket", id).catch(() => announce(t("sidebar.error.route", { id }), true));
    },
  };

  zaf.on("ticket.updated", () => void refresh(true));
  const timer = setInterval(() => void refresh(true), opts.refreshMs ?? 60_000);
  // Text re-wraps when Zendesk changes the panel's width: follow the content's height, not only renders.
  const observer = typeof ResizeObserver === "function" ? new ResizeObserver(() => resize()) : null;
  observer?.observe(root);
  void refresh(false);

  return {
    refresh: () => refresh(true),
    stop: () => {
      stopped = true;
      clearInterval(timer);
      if (waitingTimer !== null) clearTimeout(waitingTimer);
      observer?.disconnect();
    },
  };
}
