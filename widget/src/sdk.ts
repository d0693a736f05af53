/**
 * The public command API behind `groundswell(...)`: init, identify, flow, track, flush, shutdown.
 * Calls made before init are kept and replayed once init arrives. The default integrations are
 * listed once, here.
 */
import { createClient, type RunningClient } from "./core/client";
import type { Env } from "./core/env";
import { scrubText } from "./core/scrub";
import { DEFAULTS, type EventData, type Integration, type Options } from "./core/types";
import { clicks } from "./integrations/clicks";
import { deadClicks } from "./integrations/deadclick";
import { errorClicks, jsErrors } from "./integrations/errors";
import { flows } from "./integrations/flows";
import { forms } from "./integrations/forms";
import { failedRequests } from "./integrations/network";
import { pageViews } from "./integrations/pageview";
import { rageClicks } from "./integrations/rageclick";
import type { MakeRequest } from "./core/transport";
import { ui } from "./ui/index";

export function defaultIntegrations(opts: Options): Integration[] {
  const list = [errorClicks(), clicks(), rageClicks(), deadClicks(), jsErrors(), failedRequests(), forms(), flows()];
  if (opts.ui) list.push(ui());
  // Last: its first page view and route announcement must reach every integration above.
  list.push(pageViews());
  return list;
}

/** Options from untrusted init arguments: known keys only, each of the default's type, numbers bounded. */
export function parseOptions(raw: unknown): Options | null {
  if (!raw || typeof raw !== "object") return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.siteKey !== "string" || !r.siteKey || r.siteKey.length > 64) return null;
  if (typeof r.endpoint !== "string" || !/^https?:\/\/[^/]+/.test(r.endpoint)) return null;
  const out: Record<string, unknown> = { ...DEFAULTS, siteKey: r.siteKey, endpoint: r.endpoint.replace(/\/+$/, "") };
  for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const v = r[k];
    const d = DEFAULTS[k];
    if (v === undefined || typeof v !== typeof d) continue;
    if (typeof v === "number" && !(v >= 0 && v <= 86_400_000)) continue;
    out[k] = v;
  }
  if (typeof r.beforeSend === "function") out.beforeSend = r.beforeSend;
  const o = out as unknown as Options;
  o.maxBatch = Math.max(1, Math.min(100, Math.floor(o.maxBatch)));
  o.maxQueue = Math.max(10, Math.min(5000, Math.floor(o.maxQueue)));
  o.rageClicks = Math.max(2, Math.floor(o.rageClicks));
  o.flushInterval = Math.max(250, o.flushInterval);
  return o;
}

export type Api = ((cmd: string, ...args: unknown[]) => unknown) & { client?: RunningClient; loaded?: boolean };

export function createApi(env: Env, makeRequest?: MakeRequest): Api {
  const early: unknown[][] = [];
  const api: Api = (cmd, ...args) => {
    const c = api.client;
    if (cmd === "init") {
      if (c) return;
      const opts = parseOptions(args[0]);
      if (!opts) return;
      const client = createClient(env, opts, makeRequest);
      api.client = client;
      client.start(defaultIntegrations(opts));
      for (const a of early.splice(0)) api(...(a as [string]));
      return;
    }
    if (!c) {
      if (early.length < 100) early.push([cmd, ...args]);
      return;
    }
    if (cmd === "identify") {
      c.identify(String(args[0] ?? ""), args[1] as Record<string, unknown>, args[2] as { userHash?: string });
    } else if (cmd === "flow") {
      c.emit("flow", args.slice(0, 3));
    } else if (cmd === "track") {
      const data: EventData = { name: scrubText(String(args[0] ?? "custom"), 60) };
      const extra = args[1];
      if (extra && typeof extra === "object") {
        for (const [k, v] of Object.entries(extra).slice(0, 20)) {
          if (k === "name" || k.length > 64) continue;
          if (typeof v === "string") data[k] = scrubText(v, 200);
          else if (typeof v === "number" || typeof v === "boolean") data[k] = v;
        }
      }
      c.capture("custom", data);
    } else if (cmd === "flush") {
      return c.flush();
    } else if (cmd === "shutdown") {
      c.stop();
    }
  };
  return api;
}

/** Replace the loader's stub with the API and replay the calls it queued. */
export function install(env: Env, name = "groundswell"): Api | undefined {
  const w = env.win as unknown as Record<string, unknown>;
  const stub = w[name] as { q?: ArrayLike<unknown[]>; loaded?: boolean } | undefined;
  if (stub && stub.loaded) return undefined;
  const api = createApi(env);
  api.loaded = true;
  const queued = stub && stub.q ? Array.prototype.slice.call(stub.q) : [];
  w[name] = api;
  for (const args of queued) api(...(Array.prototype.slice.call(args) as [string]));
  return api;
}
