/**
 * Uncaught errors and unhandled rejections, scrubbed (emails, long numbers, tokens, ids). Browser
 * noise ("Script error." from cross-origin scripts, ResizeObserver loop warnings) is dropped, and each
 * message is limited by a token bucket of 10 that refills one per 10 s (PostHog's numbers), so a loop
 * throwing on every frame cannot flood the queue.
 */
import { scrubText, scrubUrl } from "../core/scrub";
import type { Integration } from "../core/types";

const NOISE = /^(Script error\.?|ResizeObserver loop (limit exceeded|completed with undelivered notifications)\.?)$/i;
export const BUCKET_SIZE = 10;
export const REFILL_MS = 10_000;

export function tokenBucket(now: () => number, size = BUCKET_SIZE, refillMs = REFILL_MS): (key: string) => boolean {
  const buckets: Record<string, { n: number; t: number }> = {};
  let keys = 0;
  return (key) => {
    const t = now();
    let b = buckets[key];
    if (!b) {
      if (keys >= 100) return false;
      keys++;
      b = buckets[key] = { n: size, t };
    }
    b.n = Math.min(size, b.n + (t - b.t) / refillMs);
    b.t = t;
    if (b.n < 1) return false;
    b.n--;
    return true;
  };
}

function messageOf(reason: unknown): string {
  if (reason instanceof Error) return (reason.name ? reason.name + ": " : "") + reason.message;
  if (typeof reason === "string") return reason;
  try {
    return "Non-Error rejection: " + JSON.stringify(reason).slice(0, 200);
  } catch {
    return "Non-Error rejection";
  }
}

export function jsErrors(): Integration {
  return {
    name: "errors",
    setup(client) {
      const { win } = client.env;
      const allow = tokenBucket(client.env.now);
      const report = (raw: string, source: string): void => {
        const message = scrubText(raw.trim() || "Error", 500);
        if (NOISE.test(raw.trim()) || !allow(message.slice(0, 100))) return;
        client.capture("js_error", { message, source });
      };
      const onError = (e: Event): void => {
        const ev = e as ErrorEvent;
        if (!("message" in ev)) return; // a resource failed to load, not a script error
        const file = ev.filename ? scrubUrl(ev.filename) : "";
        if (file && client.isOwn(file)) return;
        report(ev.error ? messageOf(ev.error) : String(ev.message || ""), file ? `${file}:${ev.lineno || 0}` : "");
      };
      const onRejection = (e: Event): void => report(messageOf((e as PromiseRejectionEvent).reason), "promise");
      win.addEventListener("error", onError);
      win.addEventListener("unhandledrejection", onRejection);
      return () => {
        win.removeEventListener("error", onError);
        win.removeEventListener("unhandledrejection", onRejection);
      };
    },
  };
}

/**
 * Error clicks: a JS error or failed request within `errorClickMs` (2000 ms, Amplitude's window) after
 * a click is tied to it: the event gets the click's target and `data.error_click = true`.
 */
export function errorClicks(): Integration {
  return {
    name: "errorclick",
    setup(client) {
      let last: { ts: number; target: string } | undefined;
      client.on("activity", (arg) => {
        const a = arg as { kind: string; info?: { ts: number; target: string } };
        if (a.kind === "click" && a.info) last = a.info;
      });
      client.on("event", (arg) => {
        const ev = arg as { type: string; ts: number; target?: string; data?: Record<string, unknown> };
        if ((ev.type !== "js_error" && ev.type !== "failed_request") || !last) return;
        if (ev.ts - last.ts > client.options.errorClickMs) return;
        ev.data = { ...(ev.data || {}), error_click: true };
        if (!ev.target) ev.target = last.target;
      });
    },
  };
}
