/**
 * The UI integration: asks the server for known issues on every page view and route change, and for a
 * nudge decision after a flush that carried friction (debounced) and on route changes. Client-side caps
 * (per session and per day) apply on top of the server's; one nudge at a time; a tip the person closed is
 * not shown again in the session (the server does not offer it again either).
 */
import { FRICTION } from "../core/client";
import { scrubUrl } from "../core/scrub";
import type { Client, Integration, WidgetEvent } from "../core/types";
import { dismissedIds, showBanner, type Issue } from "./banner";
import { showNudge, type Nudge } from "./nudge";
import { mountRoot, type Root } from "./root";

export const DECIDE_DEBOUNCE_MS = 1000;
/** Waits before asking again while the detector has not read this session's events (`no_data`): about
 * 22 s in all, enough for a detector catching up on a busy log, then the next flush with friction asks. */
export const RETRY_MS = [1500, 3000, 6000, 6000, 6000];

interface Caps {
  day: string;
  today: number;
  session: number;
}

function readCaps(client: Client): Caps {
  const env = client.env;
  const day = new Date(env.now()).toISOString().slice(0, 10);
  let today = 0;
  let session = 0;
  try {
    const l = env.storage("local");
    const d = JSON.parse((l && l.getItem("gs_nudge_day")) || "null");
    if (d && d.d === day) today = Number(d.n) || 0;
    const s = env.storage("session");
    session = Number(s && s.getItem("gs_nudge_session")) || 0;
  } catch {
    /* no caps stored: start at zero */
  }
  return { day, today, session };
}

const CLOSED = "gs_nudge_closed";

/** A tip's id as the server gives them: what it accepts back in a decision request. */
const TIP_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Tips the person closed in this browser session (session storage, at most 20): never shown again in it,
 * even when the server's answer comes before it has read the dismissal. The page's own scripts share that
 * storage: anything but tip ids found there is left out, so it cannot make the decision request invalid. */
function closedTips(client: Client): string[] {
  try {
    const s = client.env.storage("session");
    const v: unknown = JSON.parse((s && s.getItem(CLOSED)) || "[]");
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && TIP_ID.test(x)).slice(-20) : [];
  } catch {
    return [];
  }
}

function rememberClosed(client: Client, id: string): void {
  try {
    const s = client.env.storage("session");
    if (s) s.setItem(CLOSED, JSON.stringify(closedTips(client).filter((x) => x !== id).concat(id).slice(-20)));
  } catch {
    /* the server remembers it too */
  }
}

function countNudge(client: Client, caps: Caps): void {
  try {
    const l = client.env.storage("local");
    if (l) l.setItem("gs_nudge_day", JSON.stringify({ d: caps.day, n: caps.today + 1 }));
    const s = client.env.storage("session");
    if (s) s.setItem("gs_nudge_session", String(caps.session + 1));
  } catch {
    /* caps kept by the server only */
  }
}

export function ui(): Integration {
  return {
    name: "ui",
    setup(client) {
      const env = client.env;
      const base = client.options.endpoint.replace(/\/+$/, "");
      const key = encodeURIComponent(client.options.siteKey);
      let root: Root | undefined;
      let nudgeOpen = false;
      // The open tip is about the page it was shown on: leaving that page (a route change) closes it.
      let closeNudge: (() => void) | undefined;
      let nudgePage = "";
      let timer: number | undefined;
      let retries = 0;
      const banners: Record<string, () => void> = {};
      const getRoot = (): Root => (root = root || mountRoot(env));
      const json = async (url: string, init?: RequestInit): Promise<unknown> => {
        if (!env.fetch) return null;
        try {
          const r = await env.fetch(url, { credentials: "omit", ...init });
          return r.ok ? await r.json() : null;
        } catch {
          return null;
        }
      };

      const knownIssues = async (): Promise<void> => {
        getRoot();  // the live region exists before any text arrives, so screen readers announce it
        const page = scrubUrl(env.href());
        const res = (await json(`${base}/api/v1/widget/known-issues?site_key=${key}&url=${encodeURIComponent(page)}`)) as
          | { issues?: Issue[] }
          | null;
        if (res && Array.isArray(res.issues)) showIssues(res.issues);
      };

      const showIssues = (issues: Issue[]): void => {
        const live = issues.filter((i) => i && i.id !== undefined && typeof i.message === "string").slice(0, 3);
        const ids = live.map((i) => String(i.id));
        for (const id of Object.keys(banners)) {
          if (ids.indexOf(id) < 0) {
            banners[id]();
            delete banners[id];
          }
        }
        const dismissed = dismissedIds(env);
        for (const issue of live) {
          const id = String(issue.id);
          if (banners[id] || dismissed.indexOf(id) >= 0) continue;
          banners[id] = showBanner(env, getRoot(), issue, () => {
            delete banners[id];
            client.capture("banner_dismissed", { issue_id: id });
          });
          client.capture("banner_shown", { issue_id: id });
        }
      };

      const decide = async (): Promise<void> => {
        const caps = readCaps(client);
        if (nudgeOpen || caps.session >= client.options.nudgesPerSession || caps.today >= client.options.nudgesPerDay) return;
        const url = scrubUrl(env.href());
        const page = url.split(/[?#]/)[0];
        const body: Record<string, string | string[]> = { site_key: client.options.siteKey, session_id: client.sessionId, url };
        if (client.userId) body.user_id = client.userId;
        if (client.userHash) body.user_hash = client.userHash;
        // Tips closed here are not offered again, even while the closing is still in the event queue.
        const closed = closedTips(client);
        if (closed.length) body.closed = closed;
        const res = (await json(`${base}/api/v1/widget/decide`, {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "Content-Type": "text/plain" },
        })) as { nudge?: Nudge | null; reason?: string; banners?: Issue[] } | null;
        if (res && Array.isArray(res.banners) && res.banners.length) showIssues(res.banners);
        // The detector may not have read this session's events yet: ask again shortly, a bounded number of times.
        if (res && res.reason === "no_data" && retries < RETRY_MS.length) return later(RETRY_MS[retries++]);
        const n = res && res.nudge;
        if (!n || nudgeOpen || n.id === undefined || typeof n.title !== "string") return;
        if (scrubUrl(env.href()).split(/[?#]/)[0] !== page) return;  // they left the page it was decided for
        const id = String(n.id);
        if (closedTips(client).indexOf(id) >= 0) return;  // closed before in this session
        nudgeOpen = true;
        countNudge(client, caps);
        nudgePage = page;
        closeNudge = showNudge(env, getRoot(), n, {
          dismiss(leftPage) {
            nudgeOpen = false;
            closeNudge = undefined;
            if (!leftPage) rememberClosed(client, id);
            client.capture("nudge_dismissed", leftPage ? { nudge_id: id, left_page: true } : { nudge_id: id });
          },
          click() {
            client.capture("nudge_clicked", { nudge_id: id });
          },
        });
        client.capture("nudge_shown", { nudge_id: id });
      };

      const later = (ms = DECIDE_DEBOUNCE_MS): void => {
        env.clearTimeout(timer);
        timer = env.setTimeout(() => void decide(), ms);
      };
      client.on("route", () => {
        if (closeNudge && scrubUrl(env.href()).split(/[?#]/)[0] !== nudgePage) closeNudge();
        void knownIssues();
        retries = 0;
        if (client.capturing) later();
      });
      client.on("flush", (sent) => {
        if ((sent as WidgetEvent[]).some((e) => FRICTION.indexOf(e.type) >= 0)) {
          retries = 0;
          later();
        }
      });
      return () => {
        env.clearTimeout(timer);
        if (root) root.host.remove();
      };
    },
  };
}
