/** Session ids (kept in session storage, renewed after 30 idle minutes), event ids, sampling, consent. */
import type { Env } from "./env";

export const SESSION_IDLE_MS = 30 * 60_000;
const KEY = "gs_session";

export function randomId(env: Env, len = 16): string {
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  const c = env.win.crypto;
  if (c && typeof c.getRandomValues === "function") {
    const buf = c.getRandomValues(new Uint8Array(len));
    for (let i = 0; i < len; i++) out += chars[buf[i] % 36];
  } else {
    for (let i = 0; i < len; i++) out += chars[Math.floor(env.random() * 36)];
  }
  return out;
}

/** The current session id, continuing the stored one unless it has been idle for 30 minutes. */
export function sessionId(env: Env): string {
  const store = env.storage("session");
  const now = env.now();
  try {
    const saved = JSON.parse((store && store.getItem(KEY)) || "null");
    if (saved && typeof saved.id === "string" && /^[a-z0-9]{8,64}$/.test(saved.id) && now - saved.t < SESSION_IDLE_MS) {
      touch(env, saved.id);
      return saved.id;
    }
  } catch {
    /* a new session */
  }
  const id = randomId(env);
  touch(env, id);
  return id;
}

export function touch(env: Env, id: string): void {
  const store = env.storage("session");
  try {
    if (store) store.setItem(KEY, JSON.stringify({ id, t: env.now() }));
  } catch {
    /* storage full or refused: the session lives in memory only */
  }
}

/** FNV-1a of the session id mod 100: the same session is always in or always out of the sample. */
export function bucket(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 100;
}

export function sampled(id: string, rate: number): boolean {
  return bucket(id) < Math.round(Math.max(0, Math.min(1, rate)) * 100);
}

/** Do Not Track or Global Privacy Control set by the user. */
export function optedOut(env: Env): boolean {
  const nav = env.nav as Navigator & { globalPrivacyControl?: boolean; msDoNotTrack?: string };
  const w = env.win as unknown as { doNotTrack?: string };
  const dnt = nav.doNotTrack || w.doNotTrack || nav.msDoNotTrack;
  return dnt === "1" || dnt === "yes" || nav.globalPrivacyControl === true;
}
