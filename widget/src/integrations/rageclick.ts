/**
 * Rage clicks: at least `rageClicks` (3) clicks, each within `rageIntervalMs` (1000 ms) of the
 * previous one and within `rageDistancePx` (30 px, Manhattan) of it or on the same element (the
 * consensus of PostHog, Datadog, Sentry and OpenReplay). One event per burst, sent when the burst ends,
 * with its full count. Text inputs, editable content and steppers/pagination (+ - < > next prev) never
 * count; a scroll or a text selection during the burst cancels it (double/triple-click selection).
 */
import { isTextEntry } from "../core/descriptor";
import type { Integration } from "../core/types";
import type { ClickInfo } from "./clicks";

const STEPPER = /^(\+|-|−|–|<|>|‹|›|«|»|prev(ious)?|next|more|less)$/i;

export function isStepper(el: Element): boolean {
  const text = (el.getAttribute("aria-label") || el.textContent || "").trim();
  return STEPPER.test(text) || (el.tagName === "INPUT" && /^(number|range)$/.test((el as HTMLInputElement).type));
}

export function rageClicks(): Integration {
  return {
    name: "rageclick",
    setup(client) {
      const { rageClicks: need, rageIntervalMs, rageDistancePx } = client.options;
      const env = client.env;
      let burst: ClickInfo[] = [];
      let timer: number | undefined;
      const end = (): void => {
        env.clearTimeout(timer);
        timer = undefined;
        if (burst.length >= need) {
          const last = burst[burst.length - 1];
          client.capture("rage_click", { count: burst.length }, { target: last.target });
        }
        burst = [];
      };
      const cancel = (): void => {
        env.clearTimeout(timer);
        timer = undefined;
        burst = [];
      };
      client.on("activity", (arg) => {
        const a = arg as { kind: string; info?: ClickInfo };
        if (a.kind !== "click" || !a.info) return;
        const c = a.info;
        if (isTextEntry(c.el) || isStepper(c.el)) return;
        const prev = burst[burst.length - 1];
        const near = prev && (prev.el === c.el || Math.abs(prev.x - c.x) + Math.abs(prev.y - c.y) <= rageDistancePx);
        if (prev && (!near || c.ts - prev.ts > rageIntervalMs)) end();
        burst.push(c);
        env.clearTimeout(timer);
        timer = env.setTimeout(end, rageIntervalMs);
      });
      client.on("hide", end);
      const { win, doc } = env;
      const onSelect = (): void => {
        const sel = win.getSelection && win.getSelection();
        if (sel && !sel.isCollapsed && burst.length) cancel();
      };
      win.addEventListener("scroll", cancel, true);
      doc.addEventListener("selectionchange", onSelect);
      return () => {
        cancel();
        win.removeEventListener("scroll", cancel, true);
        doc.removeEventListener("selectionchange", onSelect);
      };
    },
  };
}
