/**
 * The one module that touches browser globals. Everything else receives an `Env`, so tests can pass
 * a fake and the rest of the SDK never reads `window` or `document` directly.
 */

export interface Env {
  win: Window & typeof globalThis;
  doc: Document;
  nav: Navigator;
  /** The page's fetch as it was before any integration wrapped it: our own traffic goes through this. */
  fetch: typeof fetch | undefined;
  now(): number;
  random(): number;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number | undefined): void;
  /** Local or session storage, or null when the browser refuses it (privacy modes, sandboxed frames). */
  storage(kind: "local" | "session"): Storage | null;
  /** navigator.sendBeacon, or false when the browser has none or refuses the body. */
  beacon(url: string, body: string): boolean;
  href(): string;
}

export function browserEnv(): Env {
  const win = window;
  const nativeFetch = typeof win.fetch === "function" ? win.fetch.bind(win) : undefined;
  const stores: Record<string, Storage | null> = {};
  return {
    win,
    doc: document,
    nav: navigator,
    fetch: nativeFetch,
    now: () => Date.now(),
    random: () => Math.random(),
    setTimeout: (fn, ms) => win.setTimeout(fn, ms),
    clearTimeout: (id) => win.clearTimeout(id),
    storage(kind) {
      // probed once per kind: a write test costs two storage writes, too much for every event
      if (!(kind in stores)) {
        try {
          const s = kind === "local" ? win.localStorage : win.sessionStorage;
          s.setItem("gs_probe", "1");
          s.removeItem("gs_probe");
          stores[kind] = s;
        } catch {
          stores[kind] = null;
        }
      }
      return stores[kind] as Storage | null;
    },
    beacon(url, body) {
      try {
        return typeof navigator.sendBeacon === "function" && navigator.sendBeacon(url, body);
      } catch {
        return false;
      }
    },
    href: () => win.location.href,
  };
}
