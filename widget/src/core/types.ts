/** Shapes shared by the core, the integrations and the UI. */
import type { Env } from "./env";

export type EventType =
  | "page_view" | "click" | "rage_click" | "dead_click" | "js_error" | "failed_request"
  | "form_submit" | "form_error" | "form_abandon" | "navigation" | "idle"
  | "nudge_shown" | "nudge_clicked" | "nudge_dismissed" | "banner_shown" | "banner_dismissed"
  | "identify" | "custom";

export type Scalar = string | number | boolean | null;
export type EventData = Record<string, Scalar>;

/** One event as the events endpoint accepts it (server/ingest/schemas.py). */
export interface WidgetEvent {
  id: string;
  type: EventType;
  ts: number;
  url: string;
  title?: string;
  target?: string;
  user_id?: string;
  account_id?: string;
  data?: EventData;
}

/** Every number here has a research-backed default (see docs/widget.md) and can be overridden in init. */
export interface Options {
  siteKey: string;
  endpoint: string;
  /** Share of sessions captured, 0..1, decided once per session from its id. */
  sampleRate: number;
  /** Milliseconds between flushes of a non-empty queue. */
  flushInterval: number;
  /** Milliseconds from a friction event to its (earlier) flush. */
  frictionFlushDelay: number;
  maxBatch: number;
  /** Bound of the in-memory and offline queue; the oldest events are dropped past it, and counted. */
  maxQueue: number;
  /** Honour Do Not Track and Global Privacy Control (default true). */
  respectDnt: boolean;
  /** Elements matching this (or inside one) are never captured. Always includes [data-gs-ignore]. */
  ignoreSelector: string;
  /** When set, clicks are captured only inside matching elements. */
  allowSelector: string;
  /** Capture every click (true) or only friction (false). */
  captureClicks: boolean;
  rageClicks: number;
  rageIntervalMs: number;
  rageDistancePx: number;
  deadClickMs: number;
  errorClickMs: number;
  /** A declared flow that does not advance for this long counts as abandoned. */
  flowTimeoutMs: number;
  ui: boolean;
  nudgesPerSession: number;
  nudgesPerDay: number;
  /** Last look at each event before it is queued; return null to drop it. */
  beforeSend?: (ev: WidgetEvent) => WidgetEvent | null;
}

export const DEFAULTS: Omit<Options, "siteKey" | "endpoint"> = {
  sampleRate: 1,
  flushInterval: 5000,
  frictionFlushDelay: 500,
  maxBatch: 50,
  maxQueue: 500,
  respectDnt: true,
  ignoreSelector: "[data-gs-ignore]",
  allowSelector: "",
  captureClicks: true,
  rageClicks: 3,
  rageIntervalMs: 1000,
  rageDistancePx: 30,
  deadClickMs: 2500,
  errorClickMs: 2000,
  flowTimeoutMs: 300_000,
  ui: true,
  nudgesPerSession: 2,
  nudgesPerDay: 3,
};

export type Hook = "event" | "flush" | "route" | "activity" | "hide" | "flow" | "identify";

/** What integrations and the UI see of the client. */
export interface Client {
  env: Env;
  options: Options;
  sessionId: string;
  /** False under Do Not Track/GPC or outside the sample: nothing is captured. */
  capturing: boolean;
  userId?: string;
  /** HMAC of the user id from the customer's server (identity verification), if given. */
  userHash?: string;
  accountId?: string;
  /** Queue one event; `extra` may set target or override the URL. Returns the event, or null if dropped. */
  capture(type: EventType, data?: EventData, extra?: Partial<WidgetEvent>): WidgetEvent | null;
  on(hook: Hook, cb: (arg?: unknown) => void): void;
  emit(hook: Hook, arg?: unknown): void;
  /** True when this URL is our own endpoint (never captured as page traffic). */
  isOwn(url: string): boolean;
  flush(): Promise<void>;
}

/** An integration is a factory result: a name and a setup that may return a teardown. */
export interface Integration {
  name: string;
  setup(client: Client): void | (() => void);
}
