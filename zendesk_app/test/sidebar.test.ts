import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createApi } from "../src/api";
import { createFormatter } from "../src/format";
import type { RequestError, RequestOptions } from "../src/zaf";
import { startSidebar, WAITING_MS, type Sidebar } from "../src/sidebar";
import { context, fakeZaf, flush, httpError, inApp, incident, volume, XSS, type FakeZaf } from "./helpers";

const AGENT = "Ada Agent <ada@example.com>";
let root: HTMLElement;
let sidebar: Sidebar | null = null;

beforeEach(() => {
  root = document.createElement("main");
  document.body.replaceChildren(root);
});
afterEach(() => sidebar?.stop());

function path(o: RequestOptions): string {
  return `${o.type} ${o.url.replace("https://gs.example.org/api/v1", "")}`;
}

async function mount(route: (o: RequestOptions) => unknown, refreshMs = 3_600_000,
                     now = () => Date.parse("2026-11-23T12:04:00Z")): Promise<FakeZaf> {
  const zaf = fakeZaf(route);
  const fmt = createFormatter("en-US", "UTC", () => Date.parse("2026-11-23T12:04:00Z"));
  sidebar = startSidebar({ zaf, api: createApi(zaf), fmt, root, agent: AGENT, ticketId: "42", refreshMs,
                           measure: () => 321, now });
  await flush();
  return zaf;
}

function button(name: string | RegExp): HTMLButtonElement {
  const found = [...root.querySelectorAll("button")].find((b) =>
    typeof name === "string" ? b.textContent === name : name.test(b.textContent ?? ""));
  if (!found) throw new Error(`no button ${name}; have ${[...root.querySelectorAll("button")].map((b) => b.textContent)}`);
  return found;
}

const live = () => root.querySelector('[role="status"]')!;

describe("ticket sidebar", () => {
  it("shows a loading state until the context arrives", async () => {
    let release: (v: unknown) => void = () => undefined;
    const zaf = fakeZaf(() => new Promise((resolve) => { release = resolve; }));
    sidebar = startSidebar({ zaf, api: createApi(zaf), fmt: createFormatter("en-US", "UTC"), root, agent: AGENT,
                             ticketId: "42", refreshMs: 3_600_000 });
    expect(root.querySelector('[aria-busy="true"]')?.textContent).toMatch(/Loading/);
    release(context());
    await flush();
    expect(root.textContent).toContain("Incident #12:");
  });

  it("asks the backend through the ZAF proxy with the secure token placeholder", async () => {
    const zaf = await mount(() => context());
    expect(zaf.requests).toHaveLength(1);
    const [req] = zaf.requests;
    // `by` names the agent, as the actions do, so that their own verdict comes back with the context.
    expect(req).toMatchObject({ url: `https://gs.example.org/api/v1/tickets/42/context?by=${encodeURIComponent(AGENT)}`,
                                type: "GET", secure: true,
                                contentType: "application/json",
                                headers: { Authorization: "Bearer {{setting.api_token}}" } });
    expect(req.data).toBeUndefined();
  });

  it("renders the incident, its evidence, the banner, the chart and representative tickets", async () => {
    await mount(() => context());
    const text = root.textContent ?? "";
    // Its card, right under the banner, carries the title and the sentence once; the banner does not repeat the
    // card's heading but says how the ticket relates to the incident.
    expect(root.querySelector(".gs-banner")?.textContent).toBe("Known issue: this ticket is one of incident #12's tickets.");
    expect(root.querySelector(".gs-banner + .gs-incident h2")?.textContent).toBe(
      "Incident #12: Spike: 'invoice pdf · blank'");
    expect(text.split("17 tickets from 15 customers in 2 h")).toHaveLength(2);
    expect(text.split("Spike: 'invoice pdf · blank'")).toHaveLength(2);
    const stats = [...root.querySelectorAll(".gs-stats dd")].map((d) => d.textContent);
    expect(stats).toEqual(["17", "15", "9", "Nov 23, 10:04 AM (2 hours ago)", "invoice pdf · blank"]);
    const chart = root.querySelector("svg.gs-chart")!;
    expect(chart.getAttribute("role")).toBe("img");
    expect(chart.getAttribute("aria-label")).toBe(
      "Tickets per hour over the last 6 hours; latest hour 12, usual range 0 to 6. " +
      "This incident: the last 2 hours, since Nov 23, 10:04 AM; 1 hour above the usual range.");
    expect(chart.querySelectorAll("rect")).toHaveLength(6);
    expect(chart.querySelectorAll("rect.gs-chart-bar-above")).toHaveLength(1);
    expect(chart.querySelector(".gs-chart-band")).not.toBeNull();
    const reps = [...root.querySelectorAll(".gs-reps li")].map((li) => li.textContent);
    expect(reps).toEqual(["#40 The invoice PDF is blank", `#41 ${XSS}`]);
  });

  it("shows what the customer met in the app before writing, and where the incident's customers did", async () => {
    await mount(() => context({ in_app: inApp(),
                                incidents: [incident({ evidence: { pages: [{ path: "/billing", users: 9, sessions: 11,
                                                                             associated: true },
                                                                           { path: "/upgrade", users: 5, sessions: 5,
                                                                             associated: false },
                                                                           { path: "/team", users: 0, sessions: 1 }],
                                                                   representatives: [] } })] }));
    expect([...root.querySelectorAll(".gs-pages li")].map((li) => li.textContent)).toEqual(["/billing · 9 customers"]);
    const card = root.querySelector(".gs-in-app")!;
    expect(card.getAttribute("aria-labelledby")).toBe("gs-in-app");
    expect(card.querySelector("h2")?.textContent).toBe("In the app before this ticket");
    const [calm, stuck] = [...card.querySelectorAll(".gs-session")];
    expect(calm.querySelector(".gs-session-head")?.textContent).toBe("Nov 23, 11:20 AM, 40 minutes before the ticket");
    expect(calm.textContent).toContain("No friction met; pages: /home.");
    expect(stuck.querySelector(".gs-session-head")?.textContent).toBe("Nov 23, 09:00 AM, 3 hours before the ticket");
    const [billing] = [...stuck.querySelectorAll(".gs-session-pages > li")];
    expect(billing.querySelector(".gs-path")?.textContent).toBe("/billing");
    expect(billing.querySelector(".gs-stuck")?.textContent).toBe("Stuck");
    expect(billing.querySelector(".gs-signals")?.textContent).toBe(": 1 rage click, 3 failed requests");
    expect(billing.querySelector(".gs-failures")?.textContent).toBe("POST /api/pay 500 ×3");
    expect(billing.querySelector(".gs-page-incident")?.textContent).toBe(
      "Known issue: friction incident #14 Failed requests on /billing");
    expect(stuck.querySelectorAll(".gs-session-pages > li")).toHaveLength(1);  // pages without friction are left out
    expect([...stuck.querySelectorAll(".gs-nudge")].map((p) => p.textContent)).toEqual([
      "Help shown: \u201cTrouble paying?\u201d on /billing, Nov 23, 09:02 AM", "Help shown on /billing, Nov 23, 09:03 AM"]);
    expect(calm.querySelector(".gs-nudge")).toBeNull();
  });

  it("shows the in-app card on a ticket with no incident, counts sessions past three, and renders text", async () => {
    const many = (inApp().sessions as Record<string, unknown>[]);
    const sessions: Record<string, unknown>[] = [0, 1, 2]
      .flatMap((i) => many.map((s) => ({ ...s, session_id: `${s.session_id}-${i}` }))).slice(0, 5);
    sessions[0] = { ...sessions[0], pages: [{ path: XSS, views: 1, seconds: 1, signals: { js_error: 1 },
                                              failures: [{ request: "<b>GET</b> 500", count: 1 }], stuck: false,
                                              incident: null }] };
    await mount(() => context({ incidents: [], banner: null, topic: null, in_app: inApp({ sessions }) }));
    expect(root.querySelectorAll(".gs-session")).toHaveLength(3);
    expect(root.querySelector(".gs-in-app")?.textContent).toContain("and 2 more sessions");
    expect(root.querySelector("img, b")).toBeNull();
    expect(root.textContent).toContain(XSS);
    expect(root.textContent).toContain("not part of any incident or topic");
  });

  it("says when the ticket's organization writes far more than usual, as text", async () => {
    await mount(() => context({ account: { account_id: XSS, direction: "up", observed: 31, expected: 9.44, days: 1,
                                           requesters: 18, history: [8, 11] } }));
    const card = root.querySelector(".gs-account");
    expect(card?.textContent).toContain("Writing more than usual");
    expect(card?.textContent).toContain("31 tickets in the last day (against the same weekday); expected 9.4");
    expect(card?.textContent).toContain("(3.3x)");
    expect(card?.textContent).toContain("From 18 people.");
    expect(card?.textContent).toContain("Past windows: 8, 11.");
    expect(card?.textContent).toContain(XSS);
    expect(root.querySelector("img")).toBeNull();
    await mount(() => context({ account: { account_id: "900002", name: XSS, direction: "up", observed: 31,
                                           expected: 9.44, days: 1, requesters: 18, history: [] } }));
    expect(root.querySelector(".gs-account .gs-title")?.textContent).toBe(`${XSS} (900002)`);
    expect(root.querySelector("img")).toBeNull();
    await mount(() => context({ account: { account_id: "9", direction: "down", observed: 1, expected: 12, days: 7,
                                           requesters: null, history: [] } }));
    expect(root.querySelector(".gs-account")?.textContent).toContain("Writing less than usual");
    expect(root.querySelector(".gs-account")?.textContent).toContain("1 ticket in the last 7 days; expected 12");
    expect(root.querySelector(".gs-account")?.textContent).toContain("(-92%)");
    await mount(() => context({ account: { account_id: "acme-co", source: "account", signal: "users",
                                           direction: "down", observed: 2, expected: 21, days: 28,
                                           requesters: null, history: [19, 22, 20] } }));
    const product = root.querySelector(".gs-account");
    expect(product?.querySelector("h2")?.textContent).toBe("This customer's account in your product acme-co");
    expect(product?.textContent).toContain("Churn risk: fewer active users");
    expect(product?.textContent).toContain("2 active users in the last 28 days; expected 21");
  });

  it("says when the chart's last bar is the hour so far", async () => {
    const points = volume();
    points[points.length - 1] = { ...points[points.length - 1], partial: true, as_of: "2026-11-23T11:25:00Z" };
    await mount(() => context({ incidents: [incident({ volume: points })] }));
    const chart = root.querySelector("svg.gs-chart")!;
    expect(chart.getAttribute("aria-label")).toBe(
      "Tickets per hour over the last 6 hours; this hour so far 12, usual range for the whole hour 0 to 6. " +
      "This incident: the last 2 hours, since Nov 23, 10:04 AM; 1 hour above the usual range.");
    expect(chart.querySelectorAll("rect.gs-chart-bar-partial")).toHaveLength(1);
    expect(root.querySelector(".gs-figure figcaption")?.textContent).toBe(
      "Tickets per hour, last 6 hours; shaded: the usual range. The last bar is this hour so far.");
    // Said in words over the chart, with its real count, in the alert colour since it is above its band (6);
    // the time ticks under it, as on the dashboard's chart.
    const now = root.querySelector(".gs-figure .gs-chart-now")!;
    expect(now.textContent).toBe("This hour so far: 12");
    expect(now.classList.contains("gs-chart-now-above")).toBe(true);
    expect(now.compareDocumentPosition(chart) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect([...root.querySelectorAll(".gs-chart-ticks span")].map((s) => s.textContent)).toEqual(["5 h ago", "now"]);
  });

  it("labels a closed last hour's chart with ticks only, and a calm hour so far without the alert colour",
     async () => {
    await mount(() => context());
    expect(root.querySelector(".gs-chart-now")).toBeNull();
    expect([...root.querySelectorAll(".gs-chart-ticks span")].map((s) => s.textContent)).toEqual(["6 h ago", "now"]);
    sidebar?.stop();
    const points = volume();
    points[points.length - 1] = { ...points[points.length - 1], tickets: 3, partial: true };
    await mount(() => context({ incidents: [incident({ volume: points })] }));
    const now = root.querySelector(".gs-chart-now")!;
    expect(now.textContent).toBe("This hour so far: 3");
    expect(now.classList.contains("gs-chart-now-above")).toBe(false);
  });

  it("keeps the usual hours readable beside a large spike: its bar is cut at the scale, with its count", async () => {
    const points: Record<string, unknown>[] = volume(48).map((p, i) => ({ ...p, tickets: i === 47 ? 60 : 1 + (i % 2),
                                                                         upper: 3 }));
    points[47] = { ...points[47], partial: true, as_of: "2026-11-23T11:25:00Z" };
    await mount(() => context({ incidents: [incident({ volume: points })] }));
    const chart = root.querySelector("svg.gs-chart")!;
    expect(chart.getAttribute("aria-label")).toContain("this hour so far 60");
    const bars = [...chart.querySelectorAll("rect")];
    expect(bars).toHaveLength(48);
    const cut = chart.querySelectorAll("rect.gs-chart-bar-cut");
    expect(cut).toHaveLength(1);
    expect(cut[0]).toBe(bars[47]);
    expect(cut[0].getAttribute("class")).toMatch(/gs-chart-bar-above/);
    expect(cut[0].getAttribute("class")).toMatch(/gs-chart-bar-partial/);
    expect(cut[0].querySelector("title")?.textContent).toBe("60");
    expect(chart.querySelectorAll("path.gs-chart-cut")).toHaveLength(1);
    // The scale stops at 6 (3 × the usual hour, 2), but what shows is the hour's real count, not "6+".
    expect(root.querySelector(".gs-chart-now")?.textContent).toBe("This hour so far: 60");
    expect(chart.querySelector("text.gs-chart-cap")).toBeNull();
    expect(root.querySelector(".gs-figure")?.textContent).not.toContain("6+");
    // The chart is 72 high: an hour of 2 stays about a third of it, not a 2-unit strip under the spike.
    const twos = bars.filter((_, i) => i < 47 && i % 2 === 1).map((b) => Number(b.getAttribute("height")));
    expect(Math.min(...twos)).toBeGreaterThan(18);
    expect(Number(cut[0].getAttribute("height"))).toBeGreaterThan(Math.max(...twos) * 2.5);
  });

  it("gives a closed hour drawn cut its real count beside it", async () => {
    const points: Record<string, unknown>[] = volume(48).map((p, i) => ({ ...p, tickets: i === 40 ? 90 : 1 + (i % 2),
                                                                         upper: 3 }));
    await mount(() => context({ incidents: [incident({ volume: points })] }));
    const chart = root.querySelector("svg.gs-chart")!;
    expect(chart.querySelectorAll("rect.gs-chart-bar-cut")).toHaveLength(1);
    expect(chart.querySelector("text.gs-chart-cap")?.textContent).toBe("90");
  });

  it("shades the incident's own hours and mutes a rise before them, saying which hours are the incident's",
     async () => {
    // Hours from 06:00 to 11:00 with a band up to 6; 9 at 07:00, before the incident (first seen 10:04), and 12 at
    // 11:00, during it.
    const points = volume().map((p, i) => (i === 1 ? { ...p, tickets: 9 } : p));
    await mount(() => context({ incidents: [incident({ volume: points })] }));
    const chart = root.querySelector("svg.gs-chart")!;
    expect(chart.getAttribute("aria-label")).toBe(
      "Tickets per hour over the last 6 hours; latest hour 12, usual range 0 to 6. " +
      "This incident: the last 2 hours, since Nov 23, 10:04 AM; 1 hour above the usual range. " +
      "1 hour above the usual range at another time.");
    // 6 slots of 280 / 6: the span starts 4 minutes into the fifth (10:00) and runs to the chart's end.
    const span = chart.querySelector("path.gs-chart-span")!;
    expect(span).toBe(chart.firstElementChild);
    expect(span.getAttribute("d")).toBe("M189.78,0H280V72H189.78Z");
    const bars = [...chart.querySelectorAll("rect")];
    expect(bars).toHaveLength(6);
    expect(bars.map((b) => b.getAttribute("class"))).toEqual([
      "gs-chart-bar", "gs-chart-bar gs-chart-bar-above gs-chart-bar-elsewhere", "gs-chart-bar", "gs-chart-bar",
      "gs-chart-bar", "gs-chart-bar gs-chart-bar-above"]);
    // The key, for the eye: the description says the same in words.
    const key = root.querySelector(".gs-figure .gs-chart-key")!;
    expect(key.getAttribute("aria-hidden")).toBe("true");
    expect([...key.children].map((k) => k.textContent)).toEqual(["this incident",
                                                                 "above the usual range at another time"]);
    expect(key.querySelectorAll(".gs-swatch-span, .gs-swatch-elsewhere")).toHaveLength(2);
  });

  it("starts the incident's span at its detection when it has no first-seen time, and keys no muted hour "
     + "when there is none", async () => {
    await mount(() => context({ incidents: [incident({ first_seen_at: null, detected_at: "2026-11-23T11:10:00Z" })] }));
    const chart = root.querySelector("svg.gs-chart")!;
    expect(chart.getAttribute("aria-label")).toContain(
      "This incident: the last hour, since Nov 23, 11:10 AM; 1 hour above the usual range.");
    expect(chart.querySelector("path.gs-chart-span")?.getAttribute("d")).toBe("M241.11,0H280V72H241.11Z");
    expect(chart.querySelector(".gs-chart-bar-elsewhere")).toBeNull();
    expect([...root.querySelectorAll(".gs-chart-key > span")].map((k) => k.textContent)).toEqual(["this incident"]);
  });

  it("mutes a cut spike before the incident, and its hour so far reads in the alert colour", async () => {
    const points: Record<string, unknown>[] = volume(48).map((p, i) => ({ ...p, tickets: i === 40 ? 90 : 1 + (i % 2),
                                                                         upper: 3 }));
    points[47] = { ...points[47], tickets: 8, partial: true };
    // The spike's own band reaches past the scale (6), so that only its real count puts it above its band.
    points[40] = { ...points[40], upper: 20 };
    // First seen in the hour at index 46 (hours start at 06:00 on Nov 23: 46 hours later is 04:00 on Nov 25).
    await mount(() => context({ incidents: [incident({ volume: points, first_seen_at: "2026-11-25T04:30:00Z" })] }));
    const chart = root.querySelector("svg.gs-chart")!;
    const cut = chart.querySelector("rect.gs-chart-bar-cut")!;
    expect(cut.getAttribute("class")).toMatch(/gs-chart-bar-above/);
    expect(cut.getAttribute("class")).toMatch(/gs-chart-bar-elsewhere/);
    expect(chart.getAttribute("aria-label")).toContain(
      "This incident: the last 2 hours, since Nov 25, 04:30 AM; 1 hour above the usual range. " +
      "1 hour above the usual range at another time.");
    expect(root.querySelector(".gs-chart-now")?.classList.contains("gs-chart-now-above")).toBe(true);
  });

  it("leaves a moderate rise uncut", async () => {
    await mount(() => context());  // 12 against hours of 2 and a band up to 6
    const chart = root.querySelector("svg.gs-chart")!;
    expect(chart.querySelectorAll(".gs-chart-bar-cut, .gs-chart-cut, .gs-chart-cap")).toHaveLength(0);
  });

  it("renders hostile text as text, never as markup", async () => {
    await mount(() => context({
      incidents: [incident({ title: XSS, sentence: `<script>alert(2)</script>`, llm_summary: "<img src=x onerror=alert(4)>",
                             topic: { id: 7, label: "<b>bold</b>" } })],
      banner: { incident_id: 12, title: XSS, sentence: "<iframe src=javascript:alert(3)>" },
    }));
    expect(root.querySelector("img, script, iframe, b")).toBeNull();
    expect(root.textContent).toContain(XSS);
    expect(root.textContent).toContain("<script>alert(2)</script>");
    expect(root.textContent).toContain("<b>bold</b>");
    expect(root.querySelector(".gs-summary")?.textContent).toBe("Summary by Claude: <img src=x onerror=alert(4)>");
    // A banner whose incident has no card below it carries its own title and sentence, as text.
    await mount(() => context({ incidents: [],
                                banner: { incident_id: 99, title: XSS, sentence: "<iframe src=javascript:alert(3)>" } }));
    expect(root.querySelector(".gs-banner")?.textContent).toBe(
      `Known issue: incident #99${XSS}<iframe src=javascript:alert(3)>`);
    expect(root.querySelector("img, script, iframe, b")).toBeNull();
  });

  it("says so when Groundswell has not seen the ticket (404)", async () => {
    await mount(() => { throw httpError(404, "not_found", "Groundswell has not seen ticket 42 yet."); });
    expect(root.textContent).toContain("Groundswell has not seen this ticket yet.");
    expect(root.querySelector(".gs-incident")).toBeNull();
  });

  it("shows the topic when the ticket has no incident, and an empty state when it has neither", async () => {
    await mount(() => context({ incidents: [], banner: null }));
    expect(root.querySelector(".gs-topic h2")?.textContent).toBe("Topic: invoice pdf · blank");
    expect(root.textContent).toContain("This ticket is not part of a live incident.");
    expect(root.querySelector(".gs-banner")).toBeNull();
    sidebar?.stop();
    await mount(() => context({ incidents: [], banner: null, topic: null }));
    expect(root.textContent).toContain("not part of any incident or topic");
  });

  it("shows an error with the server's message and retries on request", async () => {
    let fail = true;
    const zaf = await mount(() => {
      if (fail) throw httpError(500, "server_error", "Internal error (request id abc).");
      return context();
    });
    expect(root.querySelector('[role="alert"]')?.textContent).toContain("Internal error (request id abc).");
    fail = false;
    button("Try again").click();
    await flush();
    expect(zaf.requests).toHaveLength(2);
    expect(root.textContent).toContain("Incident #12:");
  });

  it("explains network and token failures in words an agent can act on", async () => {
    await mount(() => { throw httpError(0, "network", "error"); });
    expect(root.textContent).toContain("did not answer");
    sidebar?.stop();
    await mount(() => { throw httpError(401, "unauthorized", "Unknown or revoked API token."); });
    expect(root.textContent).toContain("refused the app's credentials");
  });

  it("links the ticket to the incident's problem ticket and announces it", async () => {
    const zaf = await mount((o) => o.url.endsWith("/problem-ticket")
      ? { problem_ticket_id: 900, linked_ticket_id: "42", created: true } : context());
    const link = button("Create problem ticket and link");
    link.focus();
    link.click();
    await flush();
    const post = zaf.requests.find((o) => o.type === "POST")!;
    expect(path(post)).toBe("POST /incidents/12/problem-ticket");
    expect(JSON.parse(post.data!)).toEqual({ ticket_id: "42", by: AGENT });
    expect(post.secure).toBe(true);
    expect(live().textContent).toBe("Problem ticket #900 created; ticket #42 is now one of its incidents.");
    expect(root.querySelector(".gs-linked")?.textContent).toBe("Linked to problem #900. Open ticket #900");
    expect(document.activeElement?.getAttribute("data-focus")).toBe("incident-12");
    expect(zaf.requests.filter((o) => o.type === "GET")).toHaveLength(2); // refreshed after the action
  });

  it("puts the link action and its result right under the incident's heading, before the evidence", async () => {
    await mount((o) => o.url.endsWith("/problem-ticket")
      ? { problem_ticket_id: 900, linked_ticket_id: "42", created: true } : context());
    /** Whether `node` comes before the card's sentence, numbers, chart and representative tickets. */
    const beforeEvidence = (node: Element) => {
      const card = root.querySelector(".gs-incident")!;
      return [".gs-sentence", ".gs-stats", ".gs-figure", ".gs-reps"].every((s) =>
        node.compareDocumentPosition(card.querySelector(s)!) & Node.DOCUMENT_POSITION_FOLLOWING);
    };
    // Heading, status, then the action: the card's first button.
    const primary = root.querySelector(".gs-incident .gs-primary")!;
    expect(primary.previousElementSibling?.classList.contains("gs-chip")).toBe(true);
    expect(root.querySelector(".gs-incident button")).toBe(button("Create problem ticket and link"));
    expect(primary.contains(button("Create problem ticket and link"))).toBe(true);
    expect(beforeEvidence(primary)).toBe(true);
    button("Create problem ticket and link").click();
    await flush();
    const linked = root.querySelector(".gs-incident .gs-linked")!;
    expect(linked.closest(".gs-primary")).not.toBeNull();
    expect(beforeEvidence(linked)).toBe(true);
    // The verdict, acknowledge and rename buttons stay under the evidence.
    expect(beforeEvidence(button("Useful"))).toBe(false);
  });

  it("offers the existing problem ticket when the incident has one", async () => {
    await mount(() => context({ incidents: [incident({ problem_ticket_id: 77 })] }));
    expect(button("Link to problem #77")).toBeTruthy();
  });

  it("sends feedback and shows which verdict was given", async () => {
    const zaf = await mount((o) => o.url.endsWith("/feedback") ? incident({ useful_count: 1 }) : context());
    button("Noise").click();
    await flush();
    const post = zaf.requests.find((o) => o.type === "POST")!;
    expect(path(post)).toBe("POST /incidents/12/feedback");
    expect(JSON.parse(post.data!)).toEqual({ verdict: "noise", by: AGENT });
    expect(button("Noise").getAttribute("aria-pressed")).toBe("true");
    expect(button("Useful").getAttribute("aria-pressed")).toBe("false");
    expect(live().textContent).toContain("marked as noise");
    expect(document.activeElement).toBe(button("Noise"));
  });

  it("shows a ticket linked before (a reload, another agent, Zendesk itself) as linked, not as a link to make",
     async () => {
    const zaf = await mount(() => context({ incidents: [incident({ problem_ticket_id: 77, ticket_linked: true })] }));
    expect(root.querySelector(".gs-linked")?.textContent).toBe("Linked to problem #77. Open ticket #77");
    expect([...root.querySelectorAll("button")].some((b) => /Link/.test(b.textContent ?? ""))).toBe(false);
    expect(zaf.requests.filter((o) => o.type === "POST")).toHaveLength(0);
    button("Open ticket #77").click();  // the problem ticket opens in Zendesk
    await flush();
    expect(zaf.invokes).toContainEqual(["routeTo", "ticket", "77"]);
    sidebar?.stop();
    // Another ticket of the incident, not linked yet: the one-click link stays.
    await mount(() => context({ incidents: [incident({ problem_ticket_id: 77, ticket_linked: false })] }));
    expect(button("Link to problem #77")).toBeTruthy();
    expect(root.querySelector(".gs-linked")).toBeNull();
  });

  it("shows the agent's own earlier verdict pressed after a reload, and a change of mind at once", async () => {
    const verdict = "useful";
    await mount((o) => o.url.endsWith("/feedback") ? incident() : context({ incidents: [incident({ your_verdict: verdict })] }));
    expect(button("Useful").getAttribute("aria-pressed")).toBe("true");
    expect(button("Noise").getAttribute("aria-pressed")).toBe("false");
    button("Noise").click();  // the server still says useful: the agent's click just made wins
    await flush();
    expect(button("Noise").getAttribute("aria-pressed")).toBe("true");
    expect(button("Useful").getAttribute("aria-pressed")).toBe("false");
  });

  it("acknowledges an open incident, and offers no acknowledge for an acknowledged one", async () => {
    const zaf = await mount((o) => o.type === "PATCH" ? incident({ status: "acknowledged" }) : context());
    button("Acknowledge").click();
    await flush();
    const patch = zaf.requests.find((o) => o.type === "PATCH")!;
    expect(path(patch)).toBe("PATCH /incidents/12/status");
    expect(JSON.parse(patch.data!)).toEqual({ status: "acknowledged", by: AGENT });
    expect(live().textContent).toBe("Incident #12 acknowledged.");
    sidebar?.stop();
    await mount(() => context({ incidents: [incident({ status: "acknowledged" })] }));
    expect([...root.querySelectorAll("button")].some((b) => b.textContent === "Acknowledge")).toBe(false);
    expect(root.querySelector(".gs-chip")?.textContent).toBe("Acknowledged");
  });

  it("announces a refused action with the server's reason and keeps the view", async () => {
    await mount((o) => {
      if (o.type === "POST") throw httpError(502, "zendesk_unavailable", "Zendesk did not answer; nothing was linked.");
      return context();
    });
    button("Create problem ticket and link").click();
    await flush();
    expect(live().textContent).toBe("Zendesk did not answer; nothing was linked.");
    expect(live().classList.contains("gs-live-error")).toBe(true);
    expect(button("Create problem ticket and link").getAttribute("aria-disabled")).toBeNull();
  });

  it("renames the topic with the keyboard: focus moves into the form and back", async () => {
    const zaf = await mount((o) => o.type === "PATCH" ? { id: 7, name: "Blank invoices" } : context());
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    expect(document.activeElement).toBe(input);
    expect(root.querySelector(`label[for="${input.id}"]`)?.textContent).toBe("Topic name");
    // The name reaches customers (the known-issue banner names the problem by it): the field says so.
    const hint = document.getElementById(input.getAttribute("aria-describedby") ?? "");
    expect(hint?.textContent).toBe("Customers see this name in your product's known-issue banner, on the pages an " +
                                   "open incident on this topic affects. Leave it empty to go back to the keyword label.");
    expect(input.form!.contains(hint)).toBe(true);
    input.value = "  Blank invoices  ";
    input.form!.requestSubmit();
    await flush();
    const patch = zaf.requests.find((o) => o.type === "PATCH")!;
    expect(path(patch)).toBe("PATCH /topics/7");
    expect(JSON.parse(patch.data!)).toEqual({ name: "Blank invoices" });
    expect(live().textContent).toBe("Topic renamed to “Blank invoices”.");
    expect(root.querySelector("input.gs-input")).toBeNull();
    expect(document.activeElement).toBe(button("Rename topic"));
  });

  it("gives the topic its keyword label back when the name is saved empty", async () => {
    const zaf = await mount((o) => o.type === "PATCH" ? { id: 7, name: null } : context({
      topic: { ...(context().topic as object), name: "Blank invoices", display_name: "Blank invoices" },
      incidents: [incident({ topic: { id: 7, label: "Blank invoices" } })] }));
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    expect(input.value).toBe("Blank invoices");
    expect(input.required).toBe(false);
    input.value = "   ";
    input.form!.requestSubmit();
    await flush();
    const patch = zaf.requests.find((o) => o.type === "PATCH")!;
    expect(path(patch)).toBe("PATCH /topics/7");
    expect(JSON.parse(patch.data!)).toEqual({ name: null });
    expect(live().textContent).toBe("Topic name removed; it goes by its keyword label again.");
    expect(root.querySelector("input.gs-input")).toBeNull();
    expect(document.activeElement).toBe(button("Rename topic"));
  });

  it("cancels renaming with Escape and returns focus to the button", async () => {
    const zaf = await mount(() => context());
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await flush();
    expect(root.querySelector("input.gs-input")).toBeNull();
    expect(document.activeElement).toBe(button("Rename topic"));
    expect(zaf.requests.some((o) => o.type === "PATCH")).toBe(false);
  });

  it("opens a representative ticket in Zendesk", async () => {
    const zaf = await mount(() => context());
    const open = root.querySelector<HTMLButtonElement>('.gs-reps button[aria-label="Open ticket #41"]')!;
    expect(open.textContent).toBe("#41");
    open.click();
    expect(zaf.invokes).toContainEqual(["routeTo", "ticket", "41"]);
  });

  it("asks Zendesk to resize the iframe to its content", async () => {
    const zaf = await mount(() => context());
    expect(zaf.invokes).toContainEqual(["resize", { width: "100%", height: "321px" }]);
  });

  it("refreshes on ticket.updated and keeps focus on the same control", async () => {
    let count = 17;
    const zaf = await mount(() => context({ incidents: [incident({ ticket_count: count })] }));
    button("Useful").focus();
    count = 18;
    zaf.fire("ticket.updated");
    await flush();
    expect(zaf.requests).toHaveLength(2);
    expect(root.querySelector(".gs-stats dd")?.textContent).toBe("18");
    expect(document.activeElement).toBe(button("Useful"));
  });

  it("refreshes periodically and keeps the last answer when a background refresh fails", async () => {
    let fail = false;
    const zaf = await mount(() => {
      if (fail) throw httpError(0, "network", "error");
      return context();
    }, 20);
    fail = true;
    await new Promise((resolve) => setTimeout(resolve, 60));
    await flush();
    expect(zaf.requests.length).toBeGreaterThanOrEqual(2);
    expect(root.textContent).toContain("Incident #12:");
    expect(root.querySelector(".gs-stale")?.textContent).toContain("Could not refresh");
  });

  it("says why a refresh failed and how old the answer is, and Try again refreshes now", async () => {
    let fail: RequestError | null = null;
    let count = 17;
    const zaf = await mount(() => {
      if (fail) throw fail;
      return context({ incidents: [incident({ ticket_count: count })] });
    }, 3_600_000, () => Date.parse("2026-11-23T12:02:00Z"));
    fail = httpError(0, "network", "error");
    count = 18;
    zaf.fire("ticket.updated");
    await flush();
    const note = () => root.querySelector(".gs-stale");
    // From when the answer shown is (the agent's zone: UTC here), and why it is not newer, as the first load says it.
    expect([...note()!.querySelectorAll("p")].map((p) => p.textContent)).toEqual([
      "Could not refresh; this is the answer from 12:02 PM.",
      "The Groundswell server did not answer. Check that it is running and reachable.",
    ]);
    expect(root.querySelector(".gs-stats dd")?.textContent).toBe("17");

    // Still failing, for another reason: the note says the new one; the focus stays on Try again.
    fail = httpError(429, "rate_limited", "slow down");
    button("Try again").click();
    await flush();
    expect(note()?.textContent).toContain("The Groundswell server is busy; try again in a moment.");
    expect(live().textContent).toBe("The Groundswell server is busy; try again in a moment.");
    expect(document.activeElement).toBe(button("Try again"));

    // The server is back: the press brings the current answer at once and the note goes.
    fail = null;
    const asked = zaf.requests.length;
    button("Try again").click();
    await flush();
    expect(zaf.requests.length).toBe(asked + 1);
    expect(note()).toBeNull();
    expect(root.querySelector(".gs-stats dd")?.textContent).toBe("18");
    expect(live().textContent).toBe("Refreshed; this is the current answer.");
    expect(document.activeElement).toBe(root.querySelector("#gs-incident-12"));
  });

  it("shows an incident that only shares the ticket's topic as such: no known-issue banner", async () => {
    // An older server still named it in the banner; the app does not call it this ticket's known issue.
    await mount(() => context({ incidents: [incident({ attached: false })] }));
    expect(root.querySelector(".gs-banner")).toBeNull();
    const card = root.querySelector(".gs-incident")!;
    expect(card.querySelector("h2")?.textContent).toBe("Incident #12: Spike: 'invoice pdf · blank'");
    expect(card.querySelector(".gs-relation")?.textContent).toBe(
      "Same topic as incident #12; this ticket is not one of its tickets.");
    await mount(() => context());  // one of its tickets: no such note
    expect(root.querySelector(".gs-relation")).toBeNull();
  });

  it("asks before linking a ticket that is not one of the incident's tickets; Escape takes it back", async () => {
    const zaf = await mount((o) => o.url.endsWith("/problem-ticket")
      ? { problem_ticket_id: 77, linked_ticket_id: "42", created: false }
      : context({ banner: null, incidents: [incident({ attached: false, problem_ticket_id: 77 })] }));
    button("Link to problem #77").click();
    await flush();
    expect(zaf.requests.some((o) => o.type === "POST")).toBe(false);
    const group = root.querySelector<HTMLElement>('.gs-confirm[role="group"]')!;
    expect(group.textContent).toContain(
      "This ticket is not one of incident #12's tickets. Link it to problem #77 anyway?");
    expect(document.getElementById(group.getAttribute("aria-labelledby")!)?.textContent).toContain("anyway?");
    expect(document.activeElement).toBe(button("Link anyway"));
    button("Link anyway").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await flush();
    expect(root.querySelector(".gs-confirm")).toBeNull();
    expect(document.activeElement).toBe(button("Link to problem #77"));

    button("Link to problem #77").click();
    await flush();
    button("Cancel").click();
    await flush();
    expect(root.querySelector(".gs-confirm")).toBeNull();
    expect(zaf.requests.some((o) => o.type === "POST")).toBe(false);

    button("Link to problem #77").click();
    await flush();
    button("Link anyway").click();
    await flush();
    const post = zaf.requests.find((o) => o.type === "POST")!;
    expect(path(post)).toBe("POST /incidents/12/problem-ticket");
    expect(live().textContent).toBe("Ticket #42 is now an incident of problem #77.");
    expect(root.querySelector(".gs-linked")?.textContent).toBe("Linked to problem #77. Open ticket #77");
    expect(root.querySelector(".gs-confirm")).toBeNull();
  });

  it("asks before creating the problem ticket from a ticket that only shares the topic", async () => {
    await mount(() => context({ banner: null, incidents: [incident({ attached: false })] }));
    button("Create problem ticket and link").click();
    await flush();
    expect(root.querySelector(".gs-confirm p")?.textContent).toBe(
      "This ticket is not one of incident #12's tickets. Create the problem ticket and link it anyway?");
  });

  it("links one of the incident's tickets in one press", async () => {
    const zaf = await mount((o) => o.url.endsWith("/problem-ticket")
      ? { problem_ticket_id: 77, linked_ticket_id: "42", created: false }
      : context({ incidents: [incident({ problem_ticket_id: 77 })] }));
    button("Link to problem #77").click();
    await flush();
    expect(root.querySelector(".gs-confirm")).toBeNull();
    expect(zaf.requests.filter((o) => o.type === "POST")).toHaveLength(1);
  });

  it("opens the rename field empty for a topic going by its keyword label: saved as it opens, none is published",
     async () => {
    // The keyword label is words from customers' tickets; a name goes out in the known-issue banner.
    const zaf = await mount((o) => o.type === "PATCH" ? { id: 7, name: null } : context());
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    expect(document.activeElement).toBe(input);
    expect(input.value).toBe("");
    expect(input.placeholder).toBe("invoice pdf · blank");
    input.form!.requestSubmit();
    await flush();
    // Saved as it opened: nothing to change, nothing sent, and the agent is told so.
    expect(zaf.requests.filter((o) => o.type === "PATCH")).toHaveLength(0);
    expect(live().textContent).toBe("Topic name unchanged.");
    expect(root.querySelector("input.gs-input")).toBeNull();
  });

  it("takes a topic's given name away when the field is saved empty", async () => {
    const zaf = await mount((o) => o.type === "PATCH" ? { id: 7, name: null } : context({
      topic: { ...(context().topic as object), name: "Blank invoices", display_name: "Blank invoices" } }));
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    expect(input.value).toBe("Blank invoices");
    input.value = "  ";
    input.form!.requestSubmit();
    await flush();
    const patch = zaf.requests.find((o) => o.type === "PATCH")!;
    expect(JSON.parse(patch.data!)).toEqual({ name: null });
    expect(live().textContent).toBe("Topic name removed; it goes by its keyword label again.");
  });

  it("opens the rename field on the topic's given name, selected so that typing replaces it", async () => {
    await mount(() => context({
      topic: { ...(context().topic as object), name: "Blank invoices", display_name: "Blank invoices" },
      incidents: [incident({ topic: { id: 7, label: "Blank invoices" } })] }));
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    expect(document.activeElement).toBe(input);
    expect(input.value).toBe("Blank invoices");
    expect(input.placeholder).toBe("invoice pdf · blank");  // what it goes by when saved empty
    expect([input.selectionStart, input.selectionEnd]).toEqual([0, input.value.length]);
  });

  it("opens the rename field empty on a topic the ticket is not on: its shown name may be only its keyword label",
     async () => {
    await mount(() => context({ incidents: [incident({ topic: { id: 9, label: "refund · card" } })] }));
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    expect(input.value).toBe("");
    expect(input.placeholder).toBe("refund · card");
  });

  it("opens the rename field on the given name of a topic the ticket is not on, when the server says it", async () => {
    await mount(() => context({ incidents: [incident({
      topic: { id: 9, label: "Card refunds", name: "Card refunds", keyword_label: "refund · card" } })] }));
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    expect(input.value).toBe("Card refunds");  // saved as it opens, the name stays: nothing new is published
    expect(input.placeholder).toBe("refund · card");
  });

  it("keeps what the agent is typing in the rename field across a refresh", async () => {
    let count = 17;
    const zaf = await mount(() => context({ incidents: [incident({ ticket_count: count })] }));
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    input.value = "Blank invoice PD";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.setSelectionRange(6, 6);
    count = 18;  // the minute's refresh brings new numbers: the view is drawn again
    await sidebar!.refresh();
    await flush();
    expect(zaf.requests.filter((o) => o.type === "GET")).toHaveLength(2);
    expect(root.querySelector(".gs-stats dd")?.textContent).toBe("18");
    expect(root.querySelector("input.gs-input")).toBe(input);  // the very field, not a fresh copy
    expect(input.value).toBe("Blank invoice PD");
    expect(document.activeElement).toBe(input);
    expect([input.selectionStart, input.selectionEnd]).toEqual([6, 6]);

    // Focus elsewhere (the agent clicked outside the field): a refresh draws the field again with the draft.
    button("Useful").focus();
    count = 19;
    await sidebar!.refresh();
    await flush();
    const again = root.querySelector<HTMLInputElement>("input.gs-input")!;
    expect(again).not.toBe(input);
    expect(again.value).toBe("Blank invoice PD");
    again.focus();
    expect(again.selectionStart).toBe(again.selectionEnd);  // a draft is not selected away on focus
    again.value = "Blank invoice PDFs";
    again.dispatchEvent(new Event("input", { bubbles: true }));
    again.form!.requestSubmit();
    await flush();
    const patch = zaf.requests.find((o) => o.type === "PATCH")!;
    expect(JSON.parse(patch.data!)).toEqual({ name: "Blank invoice PDFs" });
  });

  it("forgets a cancelled draft", async () => {
    await mount(() => context());
    button("Rename topic").click();
    await flush();
    const input = root.querySelector<HTMLInputElement>("input.gs-input")!;
    input.value = "Something else";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    button("Cancel").click();
    await flush();
    button("Rename topic").click();
    await flush();
    expect(root.querySelector<HTMLInputElement>("input.gs-input")!.value).toBe("");
  });

  it("offers one rename for a topic two incidents share", async () => {
    await mount(() => context({ incidents: [incident(), incident({ id: 13, attached: false })] }));
    expect(root.querySelectorAll(".gs-incident")).toHaveLength(2);
    expect([...root.querySelectorAll("button")].filter((b) => b.textContent === "Rename topic")).toHaveLength(1);
  });
});

describe("a refresh the server is slow to answer", () => {
  afterEach(() => vi.useRealTimers());

  /** The sidebar showing its first answer; the requests after it wait until the test answers them. */
  async function held(): Promise<{ answer(value: unknown): void; fail(err: unknown): void }> {
    let calls = 0;
    let answer: (value: unknown) => void = () => undefined;
    let fail: (err: unknown) => void = () => undefined;
    await mount(() => ++calls === 1 ? context() : new Promise((resolve, reject) => { answer = resolve; fail = reject; }));
    expect(root.textContent).toContain("Incident #12:");
    vi.useFakeTimers();
    return { answer: (value) => answer(value), fail: (err) => fail(err) };
  }
  const content = () => root.querySelector(".gs-content")!;
  const note = () => root.querySelector<HTMLElement>(".gs-waiting")!;

  it("marks the answer shown busy at once, says it is refreshing after a moment, and stops with the answer", async () => {
    const server = await held();
    expect(content().getAttribute("aria-busy")).toBeNull();
    const done = sidebar!.refresh();
    expect(content().getAttribute("aria-busy")).toBe("true");
    expect(root.textContent).toContain("Incident #12:");  // the last answer stays in view meanwhile
    await vi.advanceTimersByTimeAsync(WAITING_MS - 1);
    expect(note().hidden).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(note().hidden).toBe(false);
    expect(note().textContent).toBe("Refreshing…");
    server.answer(context({ incidents: [incident({ ticket_count: 18 })] }));
    await done;
    expect(note().hidden).toBe(true);
    expect(content().getAttribute("aria-busy")).toBeNull();
    expect(root.querySelector(".gs-stats dd")?.textContent).toBe("18");
  });

  it("shows no note for an answer that comes quickly", async () => {
    const server = await held();
    const done = sidebar!.refresh();
    await vi.advanceTimersByTimeAsync(WAITING_MS / 2);
    server.answer(context());
    await done;
    await vi.advanceTimersByTimeAsync(WAITING_MS * 2);
    expect(note().hidden).toBe(true);
    expect(content().getAttribute("aria-busy")).toBeNull();
  });

  it("takes the note away when the slow refresh fails, and says the answer shown is old", async () => {
    const server = await held();
    const done = sidebar!.refresh();
    await vi.advanceTimersByTimeAsync(WAITING_MS);
    expect(note().hidden).toBe(false);
    server.fail(httpError(0, "network", ""));
    await done;
    expect(note().hidden).toBe(true);
    expect(content().getAttribute("aria-busy")).toBeNull();
    expect(root.querySelector(".gs-stale")?.textContent).toContain("Could not refresh");
  });
});
