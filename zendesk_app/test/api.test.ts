import { describe, expect, it } from "vitest";
import { authOptions, backendBase, ConfigError, createApi, incidentPageUrl, ticketIdOf } from "../src/api";
import { RequestError } from "../src/zaf";
import { fakeZaf, incident } from "./helpers";

describe("backend calls", () => {
  it("takes the backend address from the settings, without trailing slashes", () => {
    expect(backendBase({ backend_url: "https://gs.example.org/" })).toBe("https://gs.example.org");
    expect(backendBase({ backend_url: " https://gs.example.org/base// " })).toBe("https://gs.example.org/base");
    expect(backendBase({ backend_url: "http://127.0.0.1:8000" })).toBe("http://127.0.0.1:8000");
  });

  it.each([undefined, "", "gs.example.org", "javascript:alert(1)", "ftp://gs.example.org",
           "https://user:pw@gs.example.org", "https://gs.example.org/?x=1"])("refuses backend_url %s", (value) => {
    expect(() => backendBase({ backend_url: value })).toThrow(ConfigError);
  });

  it("accepts only digit ticket ids", () => {
    expect(ticketIdOf(42)).toBe("42");
    expect(ticketIdOf("0042")).toBe("0042");
    for (const bad of ["", "4/2", "../1", "1e3", 1.5, null, "1".repeat(19)]) expect(ticketIdOf(bad)).toBeNull();
  });

  it("sends every call through the proxy with the secure token placeholder", async () => {
    const zaf = fakeZaf((o) => (o.url.includes("/incidents?") ? { incidents: [incident()], total: 1 }
      : o.url.endsWith("/problem-ticket") ? { problem_ticket_id: 5, linked_ticket_id: "42", created: false }
      : o.type === "PATCH" && o.url.includes("/topics/") ? {} : incident()));
    const api = createApi(zaf);
    const open = await api.openIncidents();
    expect(open.incidents.map((i) => i.id)).toEqual([12]);
    expect(open.total).toBe(1);
    await api.linkProblem(12, "42", "A".repeat(500));
    await api.feedback(12, "useful", "Ada");
    await api.acknowledge(12, "Ada");
    await api.renameTopic(7, "   ");
    const seen = zaf.requests.map((o) => [o.type, o.url, o.data === undefined ? undefined : JSON.parse(o.data)]);
    expect(seen).toEqual([
      ["GET", "https://gs.example.org/api/v1/incidents?status=open,acknowledged&limit=50", undefined],
      ["POST", "https://gs.example.org/api/v1/incidents/12/problem-ticket", { ticket_id: "42", by: "A".repeat(200) }],
      ["POST", "https://gs.example.org/api/v1/incidents/12/feedback", { verdict: "useful", by: "Ada" }],
      ["PATCH", "https://gs.example.org/api/v1/incidents/12/status", { status: "acknowledged", by: "Ada" }],
      ["PATCH", "https://gs.example.org/api/v1/topics/7", { name: null }],
    ]);
    for (const o of zaf.requests) {
      expect(o).toMatchObject({ secure: true, contentType: "application/json", dataType: "json",
                                headers: { Authorization: "Bearer {{setting.api_token}}" } });
    }
  });

  it("turns a 404 context into null and passes other errors on", async () => {
    const api404 = createApi(fakeZaf(() => { throw new RequestError(404, "not_found", "nope"); }));
    expect(await api404.ticketContext("42")).toBeNull();
    const api500 = createApi(fakeZaf(() => { throw new RequestError(500, "server_error", "boom"); }));
    await expect(api500.ticketContext("42")).rejects.toMatchObject({ status: 500 });
  });

  it("never builds a URL from a bad id", async () => {
    const zaf = fakeZaf(() => ({}));
    const api = createApi(zaf);
    await expect(api.ticketContext("1/../../admin")).rejects.toThrow(RangeError);
    await expect(api.feedback(0, "useful", "a")).rejects.toThrow(RangeError);
    expect(zaf.requests).toEqual([]);
  });

  it("treats a link answer without a problem ticket as an error", async () => {
    const api = createApi(fakeZaf(() => ({ created: true })));
    await expect(api.linkProblem(1, "42", "a")).rejects.toBeInstanceOf(RequestError);
  });
});

describe("authentication mode", () => {
  it("knows where an incident opens on the server's incidents page", () => {
    expect(incidentPageUrl({ backend_url: "https://gs.example.org/base/" }, 12)).toBe(
      "https://gs.example.org/base/incidents#id=12");
    expect(incidentPageUrl({ backend_url: "javascript:alert(1)" }, 12)).toBeNull();
    expect(incidentPageUrl({}, 12)).toBeNull();
    expect(incidentPageUrl({ backend_url: "https://gs.example.org" }, 0)).toBeNull();
  });

  it("uses the API token placeholder when no tenant is set", () => {
    expect(authOptions({})).toEqual({ headers: { Authorization: "Bearer {{setting.api_token}}" } });
    expect(authOptions({ tenant: "  " })).toEqual({ headers: { Authorization: "Bearer {{setting.api_token}}" } });
    expect(authOptions({ tenant: "acme corp!" }).jwt).toBeUndefined();
  });

  it("asks the proxy to sign a short-lived JWT with the sidebar secret when a tenant is set", async () => {
    const zaf = fakeZaf(() => ({ incidents: [] }), { backend_url: "https://gs.example.org", tenant: " acme " });
    await createApi(zaf).openIncidents();
    expect(zaf.requests[0]).toMatchObject({
      secure: true,
      headers: { Authorization: "Bearer {{jwt.token}}" },
      jwt: { algorithm: "HS256", secret_key: "{{setting.sidebar_secret}}", expiry: 300,
             claims: { iss: "acme", aud: "groundswell" } },
    });
  });
});
