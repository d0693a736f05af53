/**
 * Failed fetch and XMLHttpRequest calls: status 0 (network error) or 400 and above, reported with the
 * method, status and a path whose ids (numbers, UUIDs, long hex, long tokens) are replaced by ":id" and
 * whose query string is dropped. Our own endpoint is never reported (the transport also uses the
 * unwrapped fetch). Every request start is announced as activity, which keeps a click from looking dead.
 */
import { scrubPath } from "../core/scrub";
import type { Client, Integration } from "../core/types";

function report(client: Client, method: string, url: string, status: number): void {
  let u: URL;
  try {
    u = new URL(url, client.env.href());
  } catch {
    return;
  }
  if (client.isOwn(u.href)) return;
  if (status !== 0 && status < 400) return;
  const data: Record<string, string | number> = { method: method.toUpperCase().slice(0, 10), status, path: scrubPath(u.pathname) };
  if (u.origin !== new URL(client.env.href()).origin) data.host = u.host.slice(0, 100);
  client.capture("failed_request", data);
}

export function failedRequests(): Integration {
  return {
    name: "network",
    setup(client) {
      const win = client.env.win as Window & typeof globalThis;
      const undo: (() => void)[] = [];
      const origFetch = win.fetch;
      if (typeof origFetch === "function") {
        win.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit): Promise<globalThis.Response> {
          let url = "";
          let method = "GET";
          let own = false;
          try {
            url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
            method = (init && init.method) || (typeof input === "object" && "method" in input ? input.method : "GET");
            own = client.isOwn(new URL(url, client.env.href()).href);
          } catch {
            url = ""; // unreadable input: pass it through untouched, report nothing
          }
          if (!own) client.emit("activity", { kind: "request" });
          const p = origFetch.apply(this, [input, init] as Parameters<typeof fetch>);
          if (!own && url) {
            p.then((r) => report(client, method, url, r.status), () => report(client, method, url, 0));
          }
          return p;
        } as typeof fetch;
        undo.push(() => (win.fetch = origFetch));
      }
      const XHR = win.XMLHttpRequest;
      if (XHR) {
        const proto = XHR.prototype;
        const open = proto.open;
        const send = proto.send;
        const meta = new WeakMap<XMLHttpRequest, [string, string]>();
        proto.open = function (this: XMLHttpRequest, method: string, url: string | URL, ...rest: unknown[]) {
          meta.set(this, [String(method), String(url)]);
          return (open as (...a: unknown[]) => void).apply(this, [method, url, ...rest]);
        } as typeof proto.open;
        proto.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
          const m = meta.get(this);
          if (m) {
            client.emit("activity", { kind: "request" });
            this.addEventListener("loadend", () => report(client, m[0], m[1], this.status));
          }
          return send.call(this, body);
        };
        undo.push(() => {
          proto.open = open;
          proto.send = send;
        });
      }
      return () => undo.forEach((f) => f());
    },
  };
}
