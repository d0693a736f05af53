import { describe, expect, it } from "vitest";
import { parseAccount, parseContext, parseInApp, parseIncident, parseLink, volume } from "../src/model";
import { context, inApp, incident } from "./helpers";

describe("parsing backend answers", () => {
  it("reads the documented context contract", () => {
    const ctx = parseContext(context(), "42");
    expect(ctx.ticketId).toBe("42");
    expect(ctx.banner).toEqual({ incidentId: 12, title: "Spike: 'invoice pdf · blank'", sentence: "Known since 10:04." });
    const [inc] = ctx.incidents;
    expect(inc).toMatchObject({ id: 12, kind: "spike", status: "open", ticketCount: 17, requesterCount: 15,
                                accountCount: 9, topic: { id: 7, label: "invoice pdf · blank", name: "",
                                                          keywordLabel: "invoice pdf · blank" },
                                problemTicketId: null });
    expect(inc.evidence).toMatchObject({ observed: 12, expected: 2.5, lower: 0, upper: 6 });
    expect(inc.evidence.representatives).toHaveLength(2);
    expect(inc.volume).toHaveLength(6);
    expect(ctx.topic?.label).toBe("invoice pdf · blank");
  });

  it("copes with today's shorter incident form (no volume, topic or counts at top level)", () => {
    const inc = parseIncident({ id: 3, kind: "spike", status: "open", title: "t", sentence: "s",
                                first_seen_at: "2026-11-23T10:00:00Z", ticket_count: 4,
                                evidence: { requesters: 3, accounts: 2, representatives: [{ ticket_id: "9", text: "x" }] } })!;
    expect(inc).toMatchObject({ requesterCount: 3, accountCount: 2, topic: null, problemTicketId: null, volume: [] });
  });

  it("derives the banner only when the server sends no banner key", () => {
    const noKey = context();
    delete noKey.banner;
    expect(parseContext(noKey, "42").banner?.incidentId).toBe(12);
    expect(parseContext(context({ banner: null }), "42").banner).toBeNull();
    const resolvedOnly = context({ incidents: [incident({ status: "resolved" })] });
    delete resolvedOnly.banner;
    expect(parseContext(resolvedOnly, "42").banner).toBeNull();
    const topicOnly = context({ incidents: [incident({ attached: false })] });
    delete topicOnly.banner;
    expect(parseContext(topicOnly, "42").banner).toBeNull();
  });

  it("reads whether the ticket is one of the incident's tickets; a list without the field reads yes", () => {
    expect(parseIncident(incident({ attached: false }))!.attached).toBe(false);
    expect(parseIncident(incident({ attached: true }))!.attached).toBe(true);
    expect(parseIncident(incident())!.attached).toBe(true);
    expect(parseIncident(incident({ attached: "no" }))!.attached).toBe(true);
  });

  it("drops malformed entries and bounds text", () => {
    const ctx = parseContext({
      ticket: "nope", topic: { id: "x" },
      incidents: [null, { id: -1 }, { id: 1.5 }, incident({ title: "t".repeat(5000), ticket_count: "nan",
                                                             problem_ticket_id: "55" })],
      banner: { incident_id: "abc" },
    }, "42");
    expect(ctx.incidents).toHaveLength(1);
    expect(ctx.incidents[0].title).toHaveLength(300);
    expect(ctx.incidents[0].ticketCount).toBe(0);
    expect(ctx.incidents[0].problemTicketId).toBe(55);
    expect(ctx.topic).toBeNull();
    expect(ctx.banner).toBeNull();
    expect(parseContext(null, "9")).toEqual({ ticketId: "9", subject: "", topic: null, incidents: [], banner: null,
                                             inApp: null, account: null });
  });

  it("reads the organization's note and refuses a malformed one", () => {
    const note = { account_id: "900002", source: "organization", signal: "tickets", direction: "up",
                   observed: 31, expected: 9.4, ratio: 3.3, days: 1, requesters: 18, history: [8, 11] };
    expect(parseContext(context({ account: note }), "42").account).toEqual({
      accountId: "900002", name: "", source: "organization", signal: "tickets", direction: "up", observed: 31, expected: 9.4,
      days: 1, requesters: 18, history: [8, 11] });
    expect(parseAccount({ ...note, source: "account", signal: "users", direction: "down" }))
      .toMatchObject({ source: "account", signal: "users", direction: "down" });
    expect(parseAccount({ ...note, name: "Kestrel Logistics" })?.name).toBe("Kestrel Logistics");
    expect(parseAccount({ ...note, name: { x: 1 } })?.name).toBe("");
    expect(parseAccount({ ...note, name: "n".repeat(400) })?.name).toHaveLength(255);
    // a product account's name is the Zendesk organization it is linked to
    expect(parseAccount({ ...note, source: "account", signal: "users", name: "Kestrel Logistics" })?.name)
      .toBe("Kestrel Logistics");
    expect(parseAccount({ ...note, source: "account" })).toBeNull();  // a product account has no tickets
    expect(parseAccount({ ...note, signal: "users" })).toBeNull();  // an organization has no users here
    expect(parseAccount({ ...note, source: "crm" })).toBeNull();
    expect(parseAccount({ ...note, direction: "sideways" })).toBeNull();
    expect(parseAccount({ ...note, account_id: "" })).toBeNull();
    expect(parseAccount({ ...note, days: 0 })).toBeNull();
    const odd = parseAccount({ ...note, account_id: "x".repeat(500), expected: -3, requesters: null,
                               history: Array(100).fill("7") });
    expect(odd?.accountId).toHaveLength(128);
    expect(odd?.expected).toBe(0);
    expect(odd?.requesters).toBeNull();
    expect(odd?.history).toHaveLength(60);
    expect(parseContext(context(), "42").account).toBeNull();
  });

  it("reads the requester's sessions before the ticket and the incident's pages", () => {
    const ctx = parseContext(context({ in_app: inApp(),
                                       incidents: [incident({ evidence: { pages: [
                                         { path: "/billing", users: 9, sessions: 11 }, { users: 2 }, "x"] } })] }), "42");
    expect(ctx.incidents[0].pages).toEqual([{ path: "/billing", users: 9, sessions: 11, associated: true }]);
    // the server's flag when it says, else the rule of evidence written before it: two customers and a third
    const named = parseContext(context({ incidents: [incident({ evidence: { pages: [
      { path: "/a", users: 5, sessions: 5, associated: false }, { path: "/b", users: 1, sessions: 1 },
      { path: "/c", users: 1, sessions: 1, associated: true }] } })] }), "42").incidents[0].pages;
    expect(named.map((p) => [p.path, p.associated])).toEqual([["/a", false], ["/b", false], ["/c", true]]);
    const [calm, stuck] = ctx.inApp!.sessions;
    expect(calm).toMatchObject({ sessionId: "s2", minutesBefore: 40, signals: [], lastPath: "/home" });
    expect(stuck.signals).toEqual([["rage_click", 1], ["failed_request", 3]]);  // the server's signal order
    expect(stuck.nudges).toEqual([{ title: "Trouble paying?", path: "/billing", at: "2026-11-23T09:02:00Z" },
                                  { title: "", path: "/billing", at: "2026-11-23T09:03:00Z" }]);
    expect(stuck.pages[0]).toEqual({ path: "/billing", views: 1, seconds: 40,
                                     signals: [["rage_click", 1], ["failed_request", 3]],
                                     failures: [{ request: "POST /api/pay 500", count: 3 }], stuck: true,
                                     incident: { id: 14, title: "Failed requests on /billing", status: "open" } });
    expect(parseContext(context({ in_app: null }), "42").inApp).toBeNull();
  });

  it("drops unknown signals, malformed sessions and pages, and bounds the lists", () => {
    const got = parseInApp({ sessions: [
      null, { session_id: "" }, { session_id: 5 },
      { session_id: "a", minutes_before_ticket: -3, signals: { failed_request: 2, "__proto__": 9, made_up: 4 },
        pages: [{ path: "" }, { path: "/x", signals: { js_error: "7", rage_click: -1 }, stuck: "yes",
                                failures: Array.from({ length: 9 }, (_, i) => ({ request: `GET /r${i} 500`, count: 1 })),
                                incident: { id: "nope" } }] },
      ...Array.from({ length: 8 }, (_, i) => ({ session_id: `m${i}` }))] })!;
    expect(got.sessions.map((x) => x.sessionId)).toEqual(["5", "a", "m0"]);  // of the first five sent
    const [a] = got.sessions;
    expect(a).toMatchObject({ sessionId: "5", minutesBefore: 0 });
    const b = got.sessions[1];
    expect(b.signals).toEqual([["failed_request", 2]]);
    expect(b.pages).toEqual([{ path: "/x", views: 0, seconds: 0, signals: [["js_error", 7]],
                               failures: b.pages[0].failures, stuck: false, incident: null }]);
    expect(b.pages[0].failures).toHaveLength(5);
    expect(parseInApp({ sessions: [] })).toBeNull();
    expect(parseInApp("nope")).toBeNull();
  });

  it("reads both volume forms and keeps at most two weeks of hours", () => {
    expect(volume([{ start: "2026-11-23T00:00:00Z", count: 3 }])[0]).toEqual(
      { start: "2026-11-23T00:00:00Z", tickets: 3, expected: null, lower: null, upper: null });
    expect(volume([{ start: "not a date", tickets: 1 }, { tickets: 2 }])).toEqual([]);
    const flags = volume([{ start: "2026-11-23T00:00:00Z", tickets: 1, partial: true },
                          { start: "2026-11-23T01:00:00Z", tickets: 1, partial: "yes" }]);
    expect(flags.map((v) => v.partial)).toEqual([true, undefined]);  // only a real true marks the hour so far
    const many = Array.from({ length: 500 }, (_, i) => ({ start: new Date(i * 3_600_000).toISOString(), tickets: i }));
    const out = volume(many);
    expect(out).toHaveLength(336);
    expect(out[out.length - 1].tickets).toBe(499);
  });

  it("reads the link answer and refuses one without a problem ticket", () => {
    expect(parseLink({ problem_ticket_id: 900, linked_ticket_id: "42", created: true }))
      .toEqual({ problemTicketId: 900, linkedTicketId: "42", created: true });
    expect(parseLink({ linked_ticket_id: "42" })).toBeNull();
  });
});
