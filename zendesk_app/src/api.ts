// Calls to the Groundswell backend, always through ZAF's request proxy, authenticated in one of two ways that
// both keep secrets out of the browser:
// - the API token: the secure setting `api_token`, a placeholder that Zendesk's proxy fills in;
// - when the `tenant` setting is filled in: a short-lived JWT that the proxy signs per request with the secure
//   setting `sidebar_secret` (claims iss = tenant, aud = "groundswell"), sent as `Bearer {{jwt.token}}`.
import { RequestError, type RequestOptions, type Zaf } from "./zaf";
import {
  parseContext, parseIncident, parseIncidentList, parseLink,
  type Incident, type IncidentList, type LinkResult, type TicketContext,
} from "./model";

export type Verdict = "useful" | "noise";

export interface Api {
  /** The ticket's context; `by` (the agent) gets their own verdict on each incident back. */
  ticketContext(ticketId: string, by?: string): Promise<TicketContext | null>;
  linkProblem(incidentId: number, ticketId: string, by: string): Promise<LinkResult>;
  feedback(incidentId: number, verdict: Verdict, by: string): Promise<Incident | null>;
  acknowledge(incidentId: number, by: string): Promise<Incident | null>;
  renameTopic(topicId: number, name: string | null): Promise<void>;
  /** The open and acknowledged incidents, newest first (at most 50), and how many there are in all. */
  openIncidents(): Promise<IncidentList>;
}

/** The backend URL setting is missing or not an http(s) address. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export const AUTH_HEADER = "Bearer {{setting.api_token}}";
export const JWT_HEADER = "Bearer {{jwt.token}}";
export const JWT_AUDIENCE = "groundswell";
/** Seconds a signed request token lives (the proxy signs a new one per request). */
export const JWT_LIFETIME = 300;
const MAX_NAME = 200;

/** The backend's base address from the `backend_url` setting, without a trailing slash. */
export function backendBase(settings: Readonly<Record<string, unknown>>): string {
  const raw = typeof settings.backend_url === "string" ? settings.backend_url.trim() : "";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("backend_url is not set to an address");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError("backend_url must be http(s)");
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError("backend_url must be a plain address");
  }
  return (url.origin + url.pathname).replace(/\/+$/, "");
}

/**
 * Where an incident opens on the Groundswell server's incidents page (the page asks for the API token when the
 * tab has none), or null when the `backend_url` setting is not a usable address.
 */
export function incidentPageUrl(settings: Readonly<Record<string, unknown>>, incidentId: number): string | null {
  try {
    return `${backendBase(settings)}/incidents#id=${intPath(incidentId)}`;
  } catch {
    return null;
  }
}

/** How requests authenticate: a signed JWT when the `tenant` setting names a tenant, else the API token. */
export function authOptions(settings: Readonly<Record<string, unknown>>): Pick<RequestOptions, "headers" | "jwt"> {
  const tenant = typeof settings.tenant === "string" ? settings.tenant.trim() : "";
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(tenant)) return { headers: { Authorization: AUTH_HEADER } };
  return {
    headers: { Authorization: JWT_HEADER },
    jwt: { algorithm: "HS256", secret_key: "{{setting.sidebar_secret}}", expiry: JWT_LIFETIME,
           claims: { iss: tenant, aud: JWT_AUDIENCE } },
  };
}

/** Zendesk ticket ids are digits; anything else never reaches a URL. */
export function ticketIdOf(value: unknown): string | null {
  const s = typeof value === "number" && Number.isInteger(value) ? String(value) : typeof value === "string" ? value : "";
  return /^[0-9]{1,18}$/.test(s) ? s : null;
}

function intPath(n: number): string {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`bad id ${n}`);
  return String(n);
}

export function createApi(zaf: Zaf): Api {
  const base = backendBase(zaf.settings);
  const auth = authOptions(zaf.settings);

  function call(type: RequestOptions["type"], path: string, body?: unknown): Promise<unknown> {
    const options: RequestOptions = {
      url: `${base}/api/v1${path}`,
      type,
      headers: { ...auth.headers },
      secure: true,
      contentType: "application/json",
      dataType: "json",
    };
    if (auth.jwt) options.jwt = { ...auth.jwt, claims: { ...auth.jwt.claims } };
    if (body !== undefined) options.data = JSON.stringify(body);
    return zaf.request(options);
  }

  const by = (name: string) => name.slice(0, MAX_NAME);

  return {
    async ticketContext(ticketId, name) {
      const tid = ticketIdOf(ticketId);
      if (!tid) throw new RangeError("not a Zendesk ticket id");
      const query = name ? `?by=${encodeURIComponent(by(name))}` : "";
      try {
        return parseContext(await call("GET", `/tickets/${tid}/context${query}`), tid);
      } catch (err) {
        if (err instanceof RequestError && err.status === 404) return null;
        throw err;
      }
    },
    async linkProblem(incidentId, ticketId, name) {
      const tid = ticketIdOf(ticketId);
      if (!tid) throw new RangeError("not a Zendesk ticket id");
      const result = parseLink(await call("POST", `/incidents/${intPath(incidentId)}/problem-ticket`,
                                          { ticket_id: tid, by: by(name) }));
      if (!result) throw new RequestError(0, "bad_response", "The server's answer had no problem ticket.");
      return result;
    },
    async feedback(incidentId, verdict, name) {
      return parseIncident(await call("POST", `/incidents/${intPath(incidentId)}/feedback`,
                                      { verdict, by: by(name) }));
    },
    async acknowledge(incidentId, name) {
      return parseIncident(await call("PATCH", `/incidents/${intPath(incidentId)}/status`,
                                      { status: "acknowledged", by: by(name) }));
    },
    async renameTopic(topicId, name) {
      const clean = name === null ? null : name.trim().slice(0, MAX_NAME) || null;
      await call("PATCH", `/topics/${intPath(topicId)}`, { name: clean });
    },
    async openIncidents() {
      return parseIncidentList(await call("GET", "/incidents?status=open,acknowledged&limit=50"));
    },
  };
}
