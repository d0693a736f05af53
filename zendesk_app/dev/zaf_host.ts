// Zendesk's side of the Zendesk App Framework protocol, for the fake agent workspace (host.ts): it hosts the
// REAL app bundle in an iframe, speaking the Zendesk App Framework's postMessage protocol to it the way Zendesk does:
// handshake -> zaf.app.registered (metadata + context), get/set/invoke answered by id, `iframe.on:<event>`
// subscriptions and `zaf.<event>` deliveries (ticket.updated), and `request:N` performed here, with
// `{{setting.x}}` filled in from the installation's settings (as Zendesk's proxy does for secure requests),
// answered with `zaf.request:N.done` / `.fail`. Secure settings are never sent to the app's frame.
// After a write the app made through the proxy succeeds, the workspace is told (`afterWrite`), so that it
// can bring the open ticket up to date with what the backend changed in Zendesk.
import { zafTicket, type HostTicket } from "./ticket";

export type Json = Record<string, unknown>;

const SECURE_SETTINGS = new Set(["api_token", "sidebar_secret"]);
const STORAGE_KEY = "gs-demo-zendesk-secrets";
const params = new URLSearchParams(location.search);

/** Where the incidents page keeps the tenant's API token for its tab (server/static/page.js). */
const INCIDENTS_PAGE_KEY = "groundswell.token";

/** Secure settings come from the `#token=...&sidebar_secret=...` fragment (kept for the tab, then taken out of
 * the address; the rest of it, such as `ticket=`, stays). Without them, what this tab was given before; failing
 * that, the incidents page's token: its ticket links open this page with rel="opener", and the browser gives
 * the new tab a copy of the incidents tab's session storage, so the token comes along without ever being put
 * in an address. */
function secretsFromFragment(): Record<string, string> {
  const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "{}") as Record<string, string>;
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("token") || fragment.has("sidebar_secret")) {
    stored.api_token = fragment.get("token") ?? "";
    stored.sidebar_secret = fragment.get("sidebar_secret") ?? "";
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
    fragment.delete("token");
    fragment.delete("sidebar_secret");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  } else if (stored.api_token === undefined) {
    const given = sessionStorage.getItem(INCIDENTS_PAGE_KEY);
    if (given) stored.api_token = given;
  }
  return stored;
}

const secureSettings = secretsFromFragment();

/** The installation's settings: backend URL and tenant (non-secure), API token and sidebar secret (secure). */
export const settings: Record<string, string> = {
  backend_url: params.get("backend_url") || location.origin,
  tenant: params.get("tenant") ?? "",
  api_token: secureSettings.api_token ?? "",
  sidebar_secret: secureSettings.sidebar_secret ?? "",
};

export function saveSecrets(): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ api_token: settings.api_token,
                                                       sidebar_secret: settings.sidebar_secret }));
}

/** Where the app is served from: another origin than this page (as on Zendesk) when the host allows it. */
function appOrigin(): string {
  const explicit = params.get("app_origin");
  if (explicit) return new URL(explicit).origin;
  const swap: Record<string, string> = { "127.0.0.1": "localhost", localhost: "127.0.0.1" };
  const other = swap[location.hostname];
  return other ? `${location.protocol}//${other}${location.port ? `:${location.port}` : ""}` : location.origin;
}

const APP_ORIGIN = appOrigin();
const APP_URL = `${APP_ORIGIN}${location.pathname.replace(/\/+$/, "")}/app/assets/iframe.html`;
/** The only origins the fake proxy sends settings to (Zendesk: the manifest's domainWhitelist). */
const ALLOWED_ORIGINS = new Set([new URL(settings.backend_url).origin]);

const agent = {
  id: 1,
  name: params.get("agent_name") || "Ada Agent",
  email: params.get("agent_email") || "ada.agent@example.com",
  locale: params.get("locale") || "en-US",
  timeZone: { ianaName: params.get("tz") || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" },
  role: "agent",
};

function guid(): string {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID()
    : `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

/** A record of every proxied request (without secrets), for people and tests to inspect. */
const requestLog: { method: string; url: string; status: number }[] = [];
(window as unknown as { __zafHost: Json }).__zafHost = { requests: requestLog, appOrigin: APP_ORIGIN };

export class AppFrame {
  readonly guid = guid();
  readonly iframe: HTMLIFrameElement;
  readonly subscriptions = new Map<string, number>();

  constructor(readonly location: "ticket_sidebar" | "nav_bar", public ticket: HostTicket | null) {
    this.iframe = document.createElement("iframe");
    this.iframe.title = "Groundswell app";
    this.iframe.setAttribute("data-location", location);
    this.iframe.src = `${APP_URL}?origin=${encodeURIComponent(window.location.origin)}&app_guid=${this.guid}`;
  }

  send(message: Json): void {
    this.iframe.contentWindow?.postMessage(JSON.stringify(message), APP_ORIGIN);
  }

  fire(event: string, data: unknown): void {
    if ((this.subscriptions.get(event) ?? 0) > 0) this.send({ key: `zaf.${event}`, message: data });
  }

  context(): Json {
    const ctx: Json = { product: "support", location: this.location, instanceGuid: this.guid,
                        account: { subdomain: "acme" } };
    if (this.ticket) ctx.ticketId = this.ticket.id;
    return ctx;
  }

  metadata(): Json {
    const visible = Object.fromEntries(Object.entries(settings).filter(([k, v]) => !SECURE_SETTINGS.has(k) && v !== ""));
    return { appId: 0, installationId: 1, name: "Groundswell", settings: visible };
  }

  value(path: string): { ok: true; value: unknown } | { ok: false } {
    const t = this.ticket;
    const values: Record<string, unknown> = {
      currentUser: agent,
      currentAccount: { subdomain: "acme", planName: "demo" },
      ...(t ? { ticket: zafTicket(t), "ticket.id": t.id, "ticket.subject": t.subject,
                "ticket.status": t.status, "ticket.type": t.type } : {}),
    };
    return Object.prototype.hasOwnProperty.call(values, path) ? { ok: true, value: values[path] } : { ok: false };
  }
}

export const frames = new Set<AppFrame>();

/** What the workspace does for the app: show a notification, open a ticket, look again at what a
 * successful write (any method but GET) through the proxy may have changed. */
export interface Workspace {
  notify(message: string): void;
  routeToTicket(ticketId: number): void;
  afterWrite(frame: AppFrame): void;
}

let workspace: Workspace = { notify: () => undefined, routeToTicket: () => undefined, afterWrite: () => undefined };

function settingsFilled(text: string, secure: boolean): string {
  if (!secure) return text;
  return text.replace(/\{\{setting\.([A-Za-z0-9_]+)\}\}/g, (slot, name: string) => settings[name] ?? slot);
}

function base64url(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** What Zendesk's proxy does for a request's `jwt` option: an HS256 token with iat/exp added to the claims. */
async function signJwt(secret: string, claims: Json, expiry: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const input = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${
    base64url(JSON.stringify({ ...claims, iat: now, exp: now + expiry }))}`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" },
                                            false, ["sign"]);
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

async function jwtFor(options: Json, secure: boolean): Promise<string | null> {
  const spec = typeof options.jwt === "object" && options.jwt !== null ? options.jwt as Json : null;
  if (!spec || !secure) return null;
  const secret = settingsFilled(String(spec.secret_key ?? ""), true);
  if (!secret || secret.includes("{{")) throw new Error("The JWT secret setting is empty.");
  const claims: Json = {};
  const given = typeof spec.claims === "object" && spec.claims !== null ? spec.claims as Json : {};
  for (const [name, value] of Object.entries(given)) {
    claims[name] = typeof value === "string" ? settingsFilled(value, true) : value;
  }
  const expiry = Math.min(86_400, Math.max(1, Number(spec.expiry) || 3600));
  return signJwt(secret, claims, expiry);
}

async function proxy(frame: AppFrame, key: string, options: Json): Promise<void> {
  const fail = (status: number, statusText: string, responseText = "", responseJSON: unknown = null) =>
    frame.send({ key: `zaf.${key}.fail`,
                 message: { responseArgs: [{ status, statusText, responseText, responseJSON }, "error", statusText] } });
  const secure = options.secure === true;
  let token: string | null;
  try {
    token = await jwtFor(options, secure);
  } catch (err) {
    return fail(400, err instanceof Error ? err.message : "Bad JWT options");
  }
  const fill = (text: string) => {
    const filled = settingsFilled(text, secure);
    return token === null ? filled : filled.split("{{jwt.token}}").join(token);
  };
  let target: URL;
  try {
    target = new URL(fill(String(options.url ?? "")), settings.backend_url);
  } catch {
    return fail(400, "Bad URL");
  }
  // Like the manifest's domainWhitelist: settings and signed tokens go to the backend's origin only.
  if (!ALLOWED_ORIGINS.has(target.origin)) return fail(403, "Domain not allowed by the app's manifest");
  const headers: Record<string, string> = {};
  const given = typeof options.headers === "object" && options.headers !== null ? options.headers as Json : {};
  for (const [name, value] of Object.entries(given)) headers[name] = fill(String(value));
  if (typeof options.contentType === "string") headers["Content-Type"] = options.contentType;
  const method = typeof options.type === "string" ? options.type.toUpperCase() : "GET";
  const body = options.data === undefined || method === "GET" ? undefined
    : fill(typeof options.data === "string" ? options.data : JSON.stringify(options.data));
  let response: Response;
  try {
    response = await fetch(target.href, { method, headers, body, credentials: "omit" });
  } catch {
    requestLog.push({ method, url: target.pathname, status: 0 });
    return fail(0, "error");
  }
  requestLog.push({ method, url: target.pathname + target.search, status: response.status });
  const text = await response.text();
  let data: unknown = text;
  const wantsJson = options.dataType === "json" || (response.headers.get("Content-Type") ?? "").includes("json");
  let parsed = true;
  if (wantsJson) {
    try { data = JSON.parse(text); } catch { parsed = false; }
  }
  if (!response.ok) return fail(response.status, response.statusText, text, parsed && wantsJson ? data : null);
  if (!parsed && options.dataType === "json") return fail(response.status, "parsererror", text);
  frame.send({ key: `zaf.${key}.done`, message: { responseArgs: [data, "success",
    { status: response.status, statusText: response.statusText, responseText: text }] } });
  if (method !== "GET") workspace.afterWrite(frame);
}

function resize(frame: AppFrame, args: unknown): void {
  const opts = Array.isArray(args) && typeof args[0] === "object" && args[0] !== null ? args[0] as Json : {};
  const height = parseInt(String(opts.height ?? ""), 10);
  if (Number.isFinite(height)) {
    const bounded = Math.min(2000, Math.max(40, height));
    frame.iframe.style.height = `${bounded}px`;
    frame.iframe.setAttribute("data-height", String(bounded));
  }
}

function answer(frame: AppFrame, data: Json): void {
  const id = data.id;
  const errors: Json = {};
  const result: Json = { errors };
  if (data.request === "get" && Array.isArray(data.params)) {
    for (const path of data.params.map(String)) {
      const found = frame.value(path);
      if (found.ok) result[path] = found.value;
      else errors[path] = { name: "InvalidPath", message: "is not a supported path", path };
    }
  } else if (data.request === "set" && typeof data.params === "object" && data.params !== null) {
    for (const [path, value] of Object.entries(data.params as Json)) {
      if (frame.ticket && (path === "ticket.subject" || path === "ticket.status" || path === "ticket.type")) {
        frame.ticket = { ...frame.ticket, [path.slice(7)]: String(value) };
        result[path] = value;
      } else errors[path] = { name: "InvalidPath", message: "cannot be set here", path };
    }
  } else if (data.request === "invoke" && typeof data.params === "object" && data.params !== null) {
    for (const [name, args] of Object.entries(data.params as Json)) {
      if (name === "resize") resize(frame, args);
      else if (name === "notify") workspace.notify(`App notification: ${String(Array.isArray(args) ? args[0] : "")}`);
      else if (name === "routeTo" && Array.isArray(args) && args[0] === "ticket" && /^[0-9]{1,18}$/.test(String(args[1]))) {
        workspace.routeToTicket(Number(args[1]));
      }
      else { errors[name] = { name: "InvalidAction", message: "is not supported by this host", path: name }; continue; }
      result[name] = null;
    }
  } else return;
  frame.send({ id, result });
}

/** Start answering the apps' messages; `ws` is what the page does when an app asks it to. */
export function listen(ws: Workspace): void {
  workspace = ws;
  window.addEventListener("message", onMessage);
}

function onMessage(event: MessageEvent): void {
  const frame = [...frames].find((f) => f.iframe.contentWindow === event.source);
  if (!frame || event.origin !== APP_ORIGIN) return;
  let data: Json;
  try {
    const parsed: unknown = typeof event.data === "string" ? JSON.parse(event.data) : event.data;
    if (typeof parsed !== "object" || parsed === null) return;
    data = parsed as Json;
  } catch {
    return;
  }
  if (data.appGuid !== undefined && data.appGuid !== frame.guid) return;
  const key = typeof data.key === "string" ? data.key : "";
  if (key === "iframe.handshake") {
    frame.send({ key: "zaf.app.registered", message: { metadata: frame.metadata(), context: frame.context() } });
  } else if (key.startsWith("iframe.on:") || key.startsWith("iframe.off:")) {
    const count = typeof (data.message as Json | undefined)?.subscriberCount === "number"
      ? (data.message as Json).subscriberCount as number : 0;
    frame.subscriptions.set(key.slice(key.indexOf(":") + 1), count);
  } else if (/^request:\d+$/.test(key)) {
    void proxy(frame, key, typeof data.message === "object" && data.message !== null ? data.message as Json : {});
  } else if (typeof data.request === "string" && data.id !== undefined) {
    answer(frame, data);
  }
  // Anything else (tracking, custom triggers) is ignored, as Zendesk ignores what it does not know.
}
