// A page of plain scripts (server/static) in jsdom for the tests beside it: the page's template without its
// Jinja tags, its scripts run as the browser runs them, and every API request held until the test answers it,
// in whatever order the test picks. The config restores mocks before each test, so open() is called inside one.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { vi } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface Request {
  method: string;
  path: string;
  body: unknown;
  answered: boolean;
  answer(body: unknown, status?: number): void;
  /** The request never reaches the server: fetch rejects, by default as a browser does when the server is down. */
  fail(error?: Error): void;
}

export interface Page {
  requests: Request[];
  /** The requests not answered yet whose method and path (with its query) start as given: "GET /api/v1/mutes". */
  pending(start: string): Request[];
  /** The only such request; throws when there is none or more than one. */
  one(start: string): Request;
  /** Timers of a second or more (refreshes, polls), to fire by hand; shorter ones run as usual. */
  timers: { ms: number; fn: () => void; cleared: boolean }[];
}

/** The <body> of server/templates/<name>.html, its Jinja tags taken out. */
export function templateBody(name: string): string {
  const text = readFileSync(join(ROOT, "server", "templates", name + ".html"), "utf8")
    .replace(/\{%.*?%\}/gs, "").replace(/\{\{.*?\}\}/gs, "");
  const body = /<body[^>]*>([\s\S]*)<\/body>/.exec(text);
  if (!body) throw new Error("no body in " + name);
  return body[1];
}

// The listeners the last page's scripts added to the document and the window, taken away when the next opens:
// a page opened again in the same file does not run the last one's handlers too.
let listeners: [EventTarget, string, EventListenerOrEventListenerObject, unknown][] = [];

function track(target: EventTarget): void {
  const add = target.addEventListener;
  vi.spyOn(target, "addEventListener").mockImplementation(function (this: EventTarget, type, fn, options) {
    if (fn) listeners.push([target, type, fn, options]);
    return add.call(target, type, fn, options);
  });
}

/** Opens the page: its body, a token in the tab, the scripts run, then DOMContentLoaded. */
export function open(template: string, scripts: string[], token: string | null = "gs_sk_test"): Page {
  for (const [target, type, fn, options] of listeners) {
    target.removeEventListener(type, fn, options as EventListenerOptions);
  }
  listeners = [];
  track(document);
  track(window);
  document.body.innerHTML = templateBody(template);
  sessionStorage.clear();
  localStorage.clear();
  if (token) sessionStorage.setItem("groundswell.token", token);
  const requests: Request[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const url = new URL(String(input), "http://x");
    return new Promise((resolve, reject) => {
      const r: Request = {
        method: (init?.method ?? "GET").toUpperCase(), path: url.pathname + url.search,
        body: init?.body ? JSON.parse(String(init.body)) : undefined, answered: false,
        answer(body, status = 200) {
          r.answered = true;
          resolve(status === 204 ? new Response(null, { status }) : new Response(JSON.stringify(body), { status }));
        },
        fail(error = new TypeError("Failed to fetch")) {
          r.answered = true;
          reject(error);
        },
      };
      requests.push(r);
    });
  });
  const timers: Page["timers"] = [];
  const realTimeout = window.setTimeout.bind(window), realClear = window.clearTimeout.bind(window);
  vi.spyOn(window, "setTimeout").mockImplementation(((fn: () => void, ms?: number) => {
    if (!ms || ms < 1000) return realTimeout(fn, ms);
    timers.push({ ms, fn, cleared: false });
    return 1_000_000 + timers.length;
  }) as typeof setTimeout);
  vi.spyOn(window, "clearTimeout").mockImplementation(((id?: number) => {
    if (typeof id === "number" && id > 1_000_000) { const t = timers[id - 1_000_001]; if (t) t.cleared = true; }
    else realClear(id);
  }) as typeof clearTimeout);
  vi.spyOn(window, "setInterval").mockImplementation(((fn: () => void, ms?: number) => {
    timers.push({ ms: ms ?? 0, fn, cleared: false });
    return 1_000_000 + timers.length;
  }) as typeof setInterval);
  window.matchMedia ??= ((query: string) => ({ matches: false, media: query })) as unknown as typeof window.matchMedia;
  for (const name of scripts) new Function(readFileSync(join(ROOT, "server", "static", name), "utf8"))();
  document.dispatchEvent(new Event("DOMContentLoaded"));
  function pending(start: string): Request[] {
    return requests.filter((r) => !r.answered && (r.method + " " + r.path).startsWith(start));
  }
  return {
    requests, timers, pending,
    one(start) {
      const found = pending(start);
      if (found.length !== 1) throw new Error(found.length + " requests waiting for " + start);
      return found[0];
    },
  };
}

/** Lets every answer given so far reach the page. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
}
