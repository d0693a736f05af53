/**
 * Dead clicks: a click on something meant to act (button, [role=button], submit/button inputs, a link
 * without href) after which nothing happens. The click is alive if, after it, the DOM changes within
 * `deadClickMs` (2500 ms), the page scrolls within 300 ms, the selection changes within 100 ms, focus or
 * visibility changes within 1000 ms, a request starts within 100 ms (Datadog's rule: network activity is
 * a response), or the route changes. Otherwise it is reported at 1.1 × deadClickMs (2750 ms, PostHog's
 * cut-off). Clicks with a modifier key, on new-tab or download links, never count.
 */
import type { Integration } from "../core/types";
import type { ClickInfo } from "./clicks";

const ELIGIBLE = 'button,[role=button],input[type=submit],input[type=button],a:not([href])';
const WINDOWS: Record<string, number> = { scroll: 300, selection: 100, focus: 1000, request: 100, route: 60_000 };

export function deadClicks(): Integration {
  return {
    name: "deadclick",
    setup(client) {
      const env = client.env;
      const { win, doc } = env;
      const mutationMs = client.options.deadClickMs;
      let pending: { c: ClickInfo; timer: number }[] = [];
      let observer: MutationObserver | undefined;

      const settle = (kind: string): void => {
        if (!pending.length) return;
        const now = env.now();
        const within = kind === "mutation" ? mutationMs : WINDOWS[kind];
        pending = pending.filter((p) => {
          if (now - p.c.ts <= within) {
            env.clearTimeout(p.timer);
            return false;
          }
          return true;
        });
        if (!pending.length && observer) {
          observer.disconnect();
          observer = undefined;
        }
      };
      const watch = (): void => {
        if (observer || typeof win.MutationObserver !== "function") return;
        observer = new win.MutationObserver((records) => {
          for (const r of records) {
            const t = r.target as Element;
            const el = t.nodeType === 1 ? t : t.parentElement;
            if (el && el.closest && el.closest("[data-gs-ui]")) continue;
            settle("mutation");
            return;
          }
        });
        observer.observe(doc.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
      };
      client.on("activity", (arg) => {
        const a = arg as { kind: string; info?: ClickInfo };
        if (a.kind !== "click") return settle(a.kind);
        const c = a.info!;
        const e = c.event;
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || e.button) return;
        const el = c.el.closest ? c.el.closest(ELIGIBLE) : null;
        if (!el || (el as HTMLButtonElement).disabled) return;
        if (pending.some((p) => p.c.el === c.el)) return;
        watch();
        const item = {
          c,
          timer: env.setTimeout(() => {
            pending = pending.filter((p) => p !== item);
            client.capture("dead_click", undefined, { target: c.target });
            if (!pending.length && observer) {
              observer.disconnect();
              observer = undefined;
            }
          }, Math.round(mutationMs * 1.1)),
        };
        pending.push(item);
        if (pending.length > 10) env.clearTimeout(pending.shift()!.timer);
      });
      const onScroll = (): void => settle("scroll");
      const onSel = (): void => settle("selection");
      const onFocus = (): void => settle("focus");
      win.addEventListener("scroll", onScroll, true);
      doc.addEventListener("selectionchange", onSel);
      doc.addEventListener("focusin", onFocus);
      doc.addEventListener("visibilitychange", onFocus);
      client.on("route", () => settle("route"));
      client.on("hide", () => settle("route"));
      return () => {
        for (const p of pending) env.clearTimeout(p.timer);
        pending = [];
        if (observer) observer.disconnect();
        win.removeEventListener("scroll", onScroll, true);
        doc.removeEventListener("selectionchange", onSel);
        doc.removeEventListener("focusin", onFocus);
        doc.removeEventListener("visibilitychange", onFocus);
      };
    },
  };
}
