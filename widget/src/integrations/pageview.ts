/**
 * Page views: one on load and one per single-page-app route change (history.pushState/replaceState,
 * popstate, hashchange), recorded only when the path changes, as PostHog does; query-only changes are
 * not new pages. Wraps the history instance's methods, so routers that replaced them still pass through.
 */
import { scrubPath } from "../core/scrub";
import type { Integration } from "../core/types";

export function pageViews(): Integration {
  return {
    name: "pageview",
    setup(client) {
      const { win } = client.env;
      const hist = win.history;
      const path = (): string => {
        try {
          return new URL(client.env.href()).pathname;
        } catch {
          return "";
        }
      };
      let last = path();
      client.capture("page_view", { nav: "load" });
      client.emit("route", last);
      const check = (nav: string): void => {
        const now = path();
        if (now === last) return;
        const from = last;
        last = now;
        client.capture("page_view", { nav, from: scrubPath(from) });
        client.emit("route", now);
      };
      const originals: [string, unknown][] = [];
      for (const name of ["pushState", "replaceState"] as const) {
        const orig = hist[name];
        if (typeof orig !== "function") continue;
        originals.push([name, orig]);
        hist[name] = function (this: History, ...args: Parameters<History["pushState"]>) {
          const r = orig.apply(this, args);
          check(name === "pushState" ? "push" : "replace");
          return r;
        };
      }
      const onPop = (): void => check("pop");
      win.addEventListener("popstate", onPop);
      win.addEventListener("hashchange", onPop);
      return () => {
        for (const [name, orig] of originals) (hist as unknown as Record<string, unknown>)[name] = orig;
        win.removeEventListener("popstate", onPop);
        win.removeEventListener("hashchange", onPop);
      };
    },
  };
}
