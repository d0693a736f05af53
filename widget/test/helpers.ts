// Test helpers: an Env over jsdom whose clock and timers are vitest's fake ones, and a fake transport.
import { vi } from "vitest";
import { browserEnv, type Env } from "../src/core/env";
import { createClient, type RunningClient } from "../src/core/client";
import { DEFAULTS, type Integration, type Options, type WidgetEvent } from "../src/core/types";
import type { Response } from "../src/core/transport";

export function testEnv(over: Partial<Env> = {}): Env {
  const base = browserEnv();
  return {
    ...base,
    fetch: undefined,
    now: () => Date.now(),
    random: () => 0.5,
    setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as number,
    clearTimeout: (id) => clearTimeout(id),
    beacon: vi.fn(() => true),
    ...over,
  };
}

export const ENDPOINT = "http://gs.test";

export function options(over: Partial<Options> = {}): Options {
  return { ...DEFAULTS, siteKey: "gs_site_test", endpoint: ENDPOINT, ui: false, ...over };
}

export interface Sent {
  bodies: { site_key: string; session_id: string; events: WidgetEvent[] }[];
  events(): WidgetEvent[];
  respond: (n: number) => Response;
}

/** A client whose batches land in `sent`; `respond(n)` chooses the answer to the n-th request. */
export function clientWith(integrations: Integration[], over: Partial<Options> = {}, env = testEnv()) {
  const sent: Sent = {
    bodies: [],
    events: () => sent.bodies.flatMap((b) => b.events),
    respond: () => ({ status: 202 }),
  };
  const client: RunningClient = createClient(env, options(over), async (body) => {
    sent.bodies.push(JSON.parse(body));
    return sent.respond(sent.bodies.length);
  });
  client.start(integrations);
  return { client, sent, env };
}

/** Flush and let the fake request's promise settle. */
export async function drain(client: RunningClient): Promise<void> {
  await client.flush();
  await Promise.resolve();
}

export function click(el: Element, init: MouseEventInit = {}): void {
  el.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, clientX: 10, clientY: 10, ...init }));
}
