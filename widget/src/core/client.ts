/**
 * The client: builds events, scrubs them, queues them, flushes them in batches through the transport,
 * and hands the unload path to sendBeacon. Integrations plug in through `setup(client)`.
 */
import type { Env } from "./env";
import { createQueue, type Item } from "./queue";
import { cut, scrubText, scrubUrl } from "./scrub";
import { optedOut, randomId, sampled, sessionId, touch } from "./session";
import { createTransport, fetchRequest, type MakeRequest } from "./transport";
import type { Client, EventData, EventType, Hook, Integration, Options, WidgetEvent } from "./types";

export const FRICTION: EventType[] = ["rage_click", "dead_click", "js_error", "failed_request", "form_error", "form_abandon"];
/** Under the browsers' 64 KiB limit for beacon and keepalive bodies. */
export const MAX_BODY = 60_000;
const OFFLINE_KEY = "gs_queue";
/** Session activity is written to storage at most this often (sessions expire after 30 idle minutes). */
const TOUCH_MS = 10_000;

export interface RunningClient extends Client {
  /** Whether events are being captured (false under Do Not Track/GPC or outside the sample). */
  capturing: boolean;
  start(integrations: Integration[]): void;
  stop(): void;
  identify(userId: string, traits?: Record<string, unknown>, opts?: { userHash?: string }): void;
  /** Flush everything now by beacon (page hide). */
  flushBeacon(): void;
  queueSize(): number;
}

export function createClient(env: Env, options: Options, makeRequest?: MakeRequest): RunningClient {
  const endpoint = options.endpoint.replace(/\/+$/, "");
  const eventsUrl = endpoint + "/api/v1/events";
  const queue = createQueue(options.maxQueue);
  const transport = createTransport(
    makeRequest || (env.fetch ? fetchRequest(env.fetch, eventsUrl) : async () => ({ status: 0 })),
    env.now,
    env.random,
  );
  const hooks: Partial<Record<Hook, ((arg?: unknown) => void)[]>> = {};
  const teardowns: (() => void)[] = [];
  const prefix = randomId(env, 6);
  let seq = 0;
  let timer: number | undefined;
  let timerAt = 0;
  let sending = false;
  let limit = options.maxBatch;
  let stopped = false;
  let lastHref = "";
  let lastUrl = "";
  let touched = 0;

  const sid = sessionId(env);
  const client: RunningClient = {
    env,
    options,
    sessionId: sid,
    capturing: !(options.respectDnt && optedOut(env)) && sampled(sid, options.sampleRate),
    on(hook, cb) {
      (hooks[hook] = hooks[hook] || []).push(cb);
    },
    emit(hook, arg) {
      for (const cb of hooks[hook] || []) {
        try {
          cb(arg);
        } catch {
          /* one integration's failure never breaks capture */
        }
      }
    },
    isOwn(url) {
      return url.indexOf(endpoint + "/api/") === 0 || url.indexOf(endpoint + "/widget/") === 0;
    },
    capture(type, data, extra) {
      if (!client.capturing || stopped) return null;
      const href = env.href();
      if (href !== lastHref) {
        lastHref = href;
        lastUrl = scrubUrl(href);
      }
      const url = lastUrl;
      if (!url) return null;
      let ev: WidgetEvent | null = { id: prefix + (seq++).toString(36), type, ts: env.now(), url, ...extra };
      if (data) ev.data = { ...data };
      if (type === "page_view") ev.title = scrubText(env.doc.title || "", 300);
      if (client.userId) ev.user_id = client.userId;
      if (client.accountId) ev.account_id = client.accountId;
      client.emit("event", ev);
      if (options.beforeSend) {
        try {
          ev = options.beforeSend(ev);
        } catch {
          ev = null;
        }
        if (!ev) return null;
      }
      queue.push(sid, ev);
      if (ev.ts - touched > TOUCH_MS) {
        touched = ev.ts;
        touch(env, sid);
      }
      schedule(FRICTION.indexOf(type) >= 0 ? options.frictionFlushDelay : options.flushInterval);
      return ev;
    },
    flush,
    start(integrations) {
      queue.load(env.storage("local"), OFFLINE_KEY);
      const onHide = (): void => {
        client.emit("hide");
        client.flushBeacon();
      };
      const onVis = (): void => {
        if (env.doc.visibilityState === "hidden") onHide();
      };
      env.win.addEventListener("pagehide", onHide);
      env.doc.addEventListener("visibilitychange", onVis);
      const onOnline = (): void => void flush();
      env.win.addEventListener("online", onOnline);
      teardowns.push(() => {
        env.win.removeEventListener("pagehide", onHide);
        env.doc.removeEventListener("visibilitychange", onVis);
        env.win.removeEventListener("online", onOnline);
      });
      for (const integ of integrations) {
        try {
          const t = integ.setup(client);
          if (t) teardowns.push(t);
        } catch {
          /* skip a broken integration */
        }
      }
      if (queue.size()) schedule(0);
    },
    stop() {
      stopped = true;
      env.clearTimeout(timer);
      for (const t of teardowns.splice(0)) t();
    },
    identify(userId, traits, opts) {
      const id = cut(String(userId || ""), 128);
      if (!id) return;
      client.userId = id;
      const acct = traits && (traits.account_id ?? traits.accountId);
      if (typeof acct === "string" || typeof acct === "number") client.accountId = cut(String(acct), 128);
      const data: EventData = {};
      client.userHash = opts && typeof opts.userHash === "string" ? opts.userHash.slice(0, 128) : undefined;
      if (client.userHash) data.user_hash = client.userHash;
      client.capture("identify", data);
      client.emit("identify", id);
    },
    flushBeacon() {
      env.clearTimeout(timer);
      timer = undefined;
      for (let guard = 0; queue.size() && guard < 20; guard++) {
        const items = queue.take(limit, MAX_BODY);
        if (!items.length) break;
        if (!env.beacon(eventsUrl, body(items))) {
          queue.unshift(items);
          break;
        }
      }
      queue.save(env.storage("local"), OFFLINE_KEY);
    },
    queueSize: () => queue.size(),
  };

  /** The batch's JSON, assembled from each event's JSON computed once by the queue. */
  function body(items: Item[]): string {
    const parts = items.map((i) => i.j || JSON.stringify(i.e));
    const drops = queue.takeDrops();
    if (Object.keys(drops).length) {
      parts.push(JSON.stringify({ id: prefix + (seq++).toString(36), type: "custom", ts: env.now(), url: items[0].e.url,
                                  data: { name: "sdk_drops", ...drops } }));
    }
    const head = JSON.stringify({ site_key: options.siteKey, session_id: items[0].s, sent_at: env.now() });
    return head.slice(0, -1) + ',"events":[' + parts.join(",") + "]}";
  }

  function schedule(ms: number): void {
    if (stopped) return;
    const at = env.now() + Math.max(ms, transport.wait());
    if (timer !== undefined && timerAt <= at) return;
    env.clearTimeout(timer);
    timerAt = at;
    timer = env.setTimeout(() => {
      timer = undefined;
      void flush();
    }, at - env.now());
  }

  async function flush(): Promise<void> {
    if (sending || !queue.size()) return;
    if (transport.wait() > 0) return schedule(0);
    sending = true;
    const items = queue.take(limit, MAX_BODY);
    let outcome;
    try {
      outcome = await transport.send(body(items));
    } finally {
      sending = false;
    }
    if (outcome === "sent") {
      limit = options.maxBatch;
      client.emit("flush", items.map((i) => i.e));
    } else if (outcome === "retry") {
      queue.unshift(items);
      queue.save(env.storage("local"), OFFLINE_KEY);
    } else if (outcome === "split") {
      if (items.length > 1) {
        limit = Math.max(1, Math.floor(items.length / 2));
        queue.unshift(items);
      } else queue.drop("too_large", 1);
    } else {
      queue.drop("rejected", items.length);
    }
    if (queue.size()) schedule(outcome === "sent" || outcome === "split" ? 0 : options.flushInterval);
    else if (outcome === "sent") queue.save(env.storage("local"), OFFLINE_KEY);
  }

  return client;
}
