/**
 * A bounded event queue. Past `max` events the oldest are dropped and counted by reason, never an
 * unbounded array. Its contents can be saved to storage (an offline queue surviving reloads) and
 * loaded back; each item keeps the session it belongs to, since a batch carries one session id.
 */
import type { WidgetEvent } from "./types";

export interface Item {
  s: string;
  e: WidgetEvent;
  /** The event's JSON, computed once when the item is taken for a batch. */
  j?: string;
}

export interface Queue {
  push(sessionId: string, ev: WidgetEvent): void;
  /** Up to `n` items of the oldest item's session, taken out of the queue. */
  take(n: number, maxBytes: number): Item[];
  /** Put items back at the front (a failed send), still within the bound. */
  unshift(items: Item[]): void;
  size(): number;
  /** Drop counts by reason since the last call, then zeroes them. */
  takeDrops(): Record<string, number>;
  drop(reason: string, n: number): void;
  save(storage: Storage | null, key: string): void;
  load(storage: Storage | null, key: string): void;
}

export function createQueue(max: number): Queue {
  let items: Item[] = [];
  let drops: Record<string, number> = {};
  /** Whether the last save left events in storage (so an empty queue must clear them). */
  let stored = false;
  const drop = (reason: string, n: number): void => {
    if (n > 0) drops[reason] = (drops[reason] || 0) + n;
  };
  const trim = (): void => {
    const over = items.length - max;
    if (over > 0) {
      items.splice(0, over);
      drop("queue_full", over);
    }
  };
  return {
    push(s, e) {
      items.push({ s, e });
      trim();
    },
    take(n, maxBytes) {
      if (!items.length) return [];
      const sid = items[0].s;
      const out: Item[] = [];
      const rest: Item[] = [];
      let bytes = 0;
      let i = 0;
      for (; i < items.length && out.length < n; i++) {
        const it = items[i];
        if (it.s !== sid) {
          rest.push(it);
          continue;
        }
        const size = (it.j = it.j || JSON.stringify(it.e)).length + 1;
        if (out.length && bytes + size > maxBytes) break;
        bytes += size;
        out.push(it);
      }
      items = rest.concat(items.slice(i));
      return out;
    },
    unshift(back) {
      items = back.concat(items);
      trim();
    },
    size: () => items.length,
    takeDrops() {
      const d = drops;
      drops = {};
      return d;
    },
    drop,
    save(storage, key) {
      if (!storage || (!items.length && !stored)) return; // nothing saved, nothing to clear: no storage write
      try {
        if (items.length) storage.setItem(key, JSON.stringify(items.map((x) => ({ s: x.s, e: x.e }))));
        else storage.removeItem(key);
        stored = items.length > 0;
      } catch {
        drop("storage_full", 0);
      }
    },
    load(storage, key) {
      if (!storage) return;
      let raw: unknown;
      try {
        raw = JSON.parse(storage.getItem(key) || "[]");
        storage.removeItem(key);
      } catch {
        return;
      }
      if (!Array.isArray(raw)) return;
      const ok = raw.filter(
        (x): x is Item =>
          !!x && typeof x.s === "string" && !!x.e && typeof x.e.id === "string" && typeof x.e.type === "string",
      );
      items = ok.concat(items);
      trim();
    },
  };
}
