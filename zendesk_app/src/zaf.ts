// The one seam between the app and Zendesk: the ZAF client, initialised once, typed, and normalised.
// Everything else in the app talks to a `Zaf`; unit tests hand the views a fake one.
import ZAFClient, { type SdkClient } from "zendesk_app_framework_sdk";

export interface RequestOptions {
  url: string;
  type: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  headers?: Record<string, string>;
  secure?: boolean;
  contentType?: string;
  /** How Zendesk should parse the answer ("json": the promise resolves with the parsed body). */
  dataType?: "json" | "text";
  data?: string;
  /** Ask Zendesk's proxy to sign a JWT (HS256) with a secure setting; `{{jwt.token}}` is replaced by it. */
  jwt?: { algorithm: "HS256"; secret_key: string; expiry: number; claims: Record<string, string> };
}

export interface Zaf {
  /** Where Zendesk shows this instance: "ticket_sidebar", "nav_bar", ... */
  readonly location: string;
  /** Non-secure installation settings (secure ones never reach the browser). */
  readonly settings: Readonly<Record<string, unknown>>;
  get(path: string): Promise<unknown>;
  invoke(name: string, ...args: unknown[]): Promise<unknown>;
  request(options: RequestOptions): Promise<unknown>;
  on(event: string, handler: (data: unknown) => void): void;
}

/** A failed `request`: the HTTP status (0 when nothing came back) and the server's error, if it sent one. */
export class RequestError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "RequestError";
    this.status = status;
    this.code = code;
  }
}

/** The app was opened outside Zendesk (no `origin`/`app_guid` in its address). */
export class NotInZendesk extends Error {
  constructor() {
    super("not running inside Zendesk");
    this.name = "NotInZendesk";
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorBody(raw: Record<string, unknown>): Record<string, unknown> | null {
  let body: unknown = raw.responseJSON;
  if (!isRecord(body) && typeof raw.responseText === "string") {
    try { body = JSON.parse(raw.responseText); } catch { body = null; }
  }
  return isRecord(body) && isRecord(body.error) ? body.error : null;
}

/** Turn what ZAF rejects a request with (an XHR-like object, or anything) into a RequestError. */
export function toRequestError(raw: unknown): RequestError {
  if (raw instanceof RequestError) return raw;
  if (!isRecord(raw)) return new RequestError(0, "network", String(raw ?? "request failed"));
  const status = typeof raw.status === "number" && Number.isFinite(raw.status) ? raw.status : 0;
  const error = errorBody(raw);
  const code = error && typeof error.code === "string" ? error.code : status ? `http_${status}` : "network";
  const message = error && typeof error.message === "string" ? error.message
    : typeof raw.statusText === "string" && raw.statusText ? raw.statusText : "request failed";
  return new RequestError(status, code, message.slice(0, 500));
}

/** Wrap a registered SDK client: `get` returns the value at the path and throws the framework's error. */
export function wrapClient(client: SdkClient, metadata: unknown, context: unknown): Zaf {
  const settings = isRecord(metadata) && isRecord(metadata.settings) ? { ...metadata.settings } : {};
  const location = isRecord(context) && typeof context.location === "string" ? context.location : "";
  return {
    location,
    settings: Object.freeze(settings),
    async get(path: string) {
      const result = await client.get(path);
      return result[path];
    },
    invoke: (name, ...args) => client.invoke(name, ...args),
    async request(options) {
      try {
        return await client.request({ ...options });
      } catch (raw) {
        throw toRequestError(raw);
      }
    },
    on: (event, handler) => client.on(event, handler),
  };
}

let connecting: Promise<Zaf> | null = null;

/**
 * Initialise the ZAF client once and resolve when Zendesk has registered the app.
 * Later calls return the same promise (a second `ZAFClient.init()` would open a second channel).
 */
export function connect(init: () => SdkClient | false = () => ZAFClient.init()): Promise<Zaf> {
  if (connecting) return connecting;
  connecting = new Promise<Zaf>((resolve, reject) => {
    const client = init();
    if (!client) {
      reject(new NotInZendesk());
      return;
    }
    client.on("app.registered", (data) => {
      const registered = isRecord(data) ? data : {};
      resolve(wrapClient(client, registered.metadata, registered.context));
    });
  });
  return connecting;
}

/** Forget the connection (tests only). */
export function resetForTests(): void {
  connecting = null;
}
