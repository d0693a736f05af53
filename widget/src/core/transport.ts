/**
 * One transport for every batch. The platform supplies only `makeRequest` (fetch in browsers, a fake
 * in tests); this module owns the retry policy, rate limits and the 413 case.
 *
 * - 2xx: sent. 413: split the batch in half, or drop a single oversized event.
 * - 0 (network), 408, 429, 5xx: retry with exponential backoff (1 s doubling, capped at 60 s, with
 *   jitter); a Retry-After header wins over the backoff.
 * - any other 4xx: the server refused the batch; it is dropped and counted, never retried.
 */

export interface Response {
  status: number;
  retryAfter?: string | null;
}

export type MakeRequest = (body: string) => Promise<Response>;

export type Outcome = "sent" | "retry" | "drop" | "split";

export interface Transport {
  send(body: string): Promise<Outcome>;
  /** Milliseconds until the next attempt is allowed (0: now). */
  wait(): number;
  attempts(): number;
}

export const BASE_DELAY = 1000;
export const MAX_DELAY = 60_000;

export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (isFinite(secs) && secs >= 0) return Math.min(secs * 1000, 3600_000);
  const at = Date.parse(value);
  return isNaN(at) ? null : Math.max(0, Math.min(at - now, 3600_000));
}

export function createTransport(makeRequest: MakeRequest, now: () => number, random: () => number): Transport {
  let failures = 0;
  let until = 0;
  const backoff = (retryAfter: number | null): void => {
    failures++;
    const exp = Math.min(MAX_DELAY, BASE_DELAY * 2 ** (failures - 1));
    until = now() + (retryAfter !== null ? retryAfter : exp * (0.75 + random() * 0.5));
  };
  return {
    async send(body) {
      let res: Response;
      try {
        res = await makeRequest(body);
      } catch {
        res = { status: 0 };
      }
      const s = res.status;
      if (s >= 200 && s < 300) {
        failures = 0;
        until = 0;
        return "sent";
      }
      if (s === 413) return "split";
      if (s === 0 || s === 408 || s === 429 || s >= 500) {
        backoff(parseRetryAfter(res.retryAfter, now()));
        return "retry";
      }
      return "drop";
    },
    wait: () => Math.max(0, until - now()),
    attempts: () => failures,
  };
}

/** A makeRequest over fetch: text/plain keeps the request CORS-simple (no preflight). */
export function fetchRequest(fetchFn: typeof fetch, url: string, keepalive = false): MakeRequest {
  return async (body) => {
    const res = await fetchFn(url, {
      method: "POST",
      body,
      headers: { "Content-Type": "text/plain" },
      keepalive: keepalive && body.length < 60_000,
      credentials: "omit",
    });
    return { status: res.status, retryAfter: res.headers.get("Retry-After") };
  };
}
