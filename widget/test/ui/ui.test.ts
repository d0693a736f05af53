import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ui } from "../../src/ui/index";
import { mountRoot } from "../../src/ui/root";
import { clientWith, drain, testEnv } from "../helpers";

type Reply = { issues?: unknown[]; nudge?: unknown };

function server(reply: { issues?: unknown[]; nudge?: unknown }) {
  const calls: { url: string; body?: string }[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    calls.push({ url, body: init && (init.body as string) });
    const r: Reply = url.includes("known-issues") ? { issues: reply.issues || [] } : { nudge: reply.nudge ?? null };
    return new Response(JSON.stringify(r), { status: 200 });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

const shadow = () => document.querySelector("[data-gs-ui]")!.shadowRoot!;
const EVIL = '<img src=x onerror="window.__pwned=1">';

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  sessionStorage.clear();
  document.body.innerHTML = "";
});
afterEach(() => vi.useRealTimers());

describe("known-issue banner", () => {
  it("shows server text as text in a status region, and remembers dismissal", async () => {
    const srv = server({ issues: [{ id: 7, message: EVIL, link_url: "javascript:alert(1)", incident_id: 3 }] });
    const { client, sent } = clientWith([ui()], { ui: true }, testEnv({ fetch: srv.fetch }));
    client.emit("route", "/billing");
    await vi.advanceTimersByTimeAsync(10);
    const root = shadow();
    const banner = root.querySelector("[data-issue='7']")!;
    expect(banner.closest("[role=status]")).not.toBeNull();
    expect(banner.textContent).toContain(EVIL);
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector("a")).toBeNull(); // not an http(s) link
    expect(srv.calls[0].url).toContain("/api/v1/widget/known-issues?site_key=gs_site_test&url=");
    banner.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(root.querySelector("[data-issue='7']")).toBeNull();
    expect(JSON.parse(localStorage.getItem("gs_dismissed")!)).toEqual(["7"]);
    client.emit("route", "/billing");
    await vi.advanceTimersByTimeAsync(10);
    expect(root.querySelector("[data-issue='7']")).toBeNull();
    await drain(client);
    client.stop();
    expect(sent.events().map((e) => [e.type, e.data])).toEqual([
      ["banner_shown", { issue_id: "7" }],
      ["banner_dismissed", { issue_id: "7" }],
    ]);
  });
});

describe("names for screen readers", () => {
  it("names the banner and the tip, and says that their links open in a new tab", async () => {
    const srv = server({
      issues: [{ id: 7, message: "Payments are slow.", link_url: "https://status.test/" }],
      nudge: { id: "n1", title: "Card declined?", body: "Pay by transfer.", link_url: "https://help.test/cards",
               link_text: "Other ways to pay" },
    });
    const { client } = clientWith([ui()], { ui: true }, testEnv({ fetch: srv.fetch }));
    client.emit("route", "/billing");
    await vi.advanceTimersByTimeAsync(1100);
    const banner = shadow().querySelector("[data-issue='7']")!;
    const tip = shadow().querySelector("[data-nudge='n1']")!;
    // a section with a name is a region: "Known issue" as the tip is "Help tip"
    expect([banner.tagName, banner.getAttribute("aria-label")]).toEqual(["SECTION", "Known issue"]);
    expect([tip.tagName, tip.getAttribute("aria-label")]).toEqual(["SECTION", "Help tip"]);
    for (const [card, text] of [[banner, "Status and updates"], [tip, "Other ways to pay"]] as const) {
      const link = card.querySelector("a")!;
      expect(link.target).toBe("_blank");
      expect(link.textContent).toBe(`${text} (opens in a new tab)`);  // its name, with the hidden part
      expect(link.querySelector(".sr")!.textContent).toBe(" (opens in a new tab)");  // hidden on screen
    }
    client.stop();
  });
});

describe("focus and announcements", () => {
  const nudge = { id: "n1", title: "Card declined?", body: "Pay by transfer.", link_url: "https://help.test/cards" };
  const page = () => {
    document.body.innerHTML = '<input id="amount"><button id="other">Other</button>';
    return { amount: document.getElementById("amount")!, other: document.getElementById("other")! };
  };
  const escape = (on: EventTarget) => on.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));

  it("puts the tip in the polite live region that was there before it, without taking focus", async () => {
    const { amount } = page();
    amount.focus();
    const srv = server({ nudge });
    const { client } = clientWith([ui()], { ui: true }, testEnv({ fetch: srv.fetch }));
    client.emit("route", "/billing");
    await vi.advanceTimersByTimeAsync(10);
    const region = shadow().querySelector("[role=status]")!;
    expect(region.getAttribute("aria-live")).toBe("polite");
    expect(region.childElementCount).toBe(0);
    await vi.advanceTimersByTimeAsync(1100);
    const card = shadow().querySelector("[data-nudge='n1']")!;
    expect(card.parentElement).toBe(region);
    expect(region.getAttribute("aria-atomic")).toBe("false");  // read alone, not with the banners again
    expect(document.activeElement).toBe(amount);
    client.stop();
  });

  it("gives focus back to where it was when a banner is closed from the keyboard", async () => {
    const { amount } = page();
    const srv = server({ issues: [{ id: 7, message: "Payments are slow." }] });
    const { client } = clientWith([ui()], { ui: true }, testEnv({ fetch: srv.fetch }));
    client.emit("route", "/billing");
    await vi.advanceTimersByTimeAsync(10);
    amount.focus();
    const close = shadow().querySelector<HTMLElement>("[data-issue='7'] button")!;
    close.focus();
    escape(close);
    expect(shadow().querySelector("[data-issue]")).toBeNull();
    expect(document.activeElement).toBe(amount);
    client.stop();
  });

  it("gives focus back when the tip is closed, else to another card, and never moves focus from outside", async () => {
    const { amount, other } = page();
    // each time another tip: one the person closed is not shown again in the session
    const reply = { issues: [{ id: 7, message: "Payments are slow." }], nudge };
    const srv = server(reply);
    let href = "https://app.test/billing";
    const { client } = clientWith([ui()], { ui: true, nudgesPerSession: 9, nudgesPerDay: 9 },
                                  testEnv({ fetch: srv.fetch, href: () => href }));
    const tip = () => shadow().querySelector<HTMLElement>("[data-nudge]");
    let shown = 0;
    const open = async () => {
      reply.nudge = { ...nudge, id: `n${++shown}` };
      client.emit("route", "/billing");
      await vi.advanceTimersByTimeAsync(1100);
      expect(tip()).not.toBeNull();
    };
    // into the tip from the page, through its link to its close button, then its button closes it
    await open();
    amount.focus();
    tip()!.querySelector("a")!.focus();
    tip()!.querySelector<HTMLElement>("button")!.focus();
    tip()!.querySelector<HTMLElement>("button")!.click();
    expect(tip()).toBeNull();
    expect(document.activeElement).toBe(amount);
    // the element focused before is gone: the banner's close button
    await open();
    amount.focus();
    tip()!.querySelector<HTMLElement>("button")!.focus();
    amount.remove();
    escape(document);
    expect(tip()).toBeNull();
    expect(shadow().activeElement).toBe(shadow().querySelector("[data-issue='7'] button"));
    // focus went into the tip and back out to the page: Escape and leaving the page leave it there
    await open();
    other.focus();
    tip()!.querySelector("a")!.focus();
    document.body.appendChild(amount);
    amount.focus();
    escape(document);
    expect(tip()).toBeNull();
    expect(document.activeElement).toBe(amount);
    await open();
    other.focus();
    tip()!.querySelector("a")!.focus();
    amount.focus();
    href = "https://app.test/invoices";
    client.emit("route", "/invoices");
    expect(tip()).toBeNull();
    expect(document.activeElement).toBe(amount);
    client.stop();
  });
});

describe("nudge card", () => {
  const nudge = { id: "n1", title: "Card declined?", body: EVIL, link_url: "https://help.test/cards", link_text: "Fix it" };

  it("asks for a decision after friction is flushed, and closes on Escape", async () => {
    const srv = server({ nudge });
    const { client, sent } = clientWith([ui()], { ui: true }, testEnv({ fetch: srv.fetch }));
    client.identify("u1");
    client.capture("failed_request", { method: "POST", status: 500, path: "/pay" });
    await vi.advanceTimersByTimeAsync(600);
    await vi.advanceTimersByTimeAsync(1100);
    const decide = srv.calls.find((c) => c.url.endsWith("/api/v1/widget/decide"))!;
    expect(JSON.parse(decide.body!)).toMatchObject({ site_key: "gs_site_test", session_id: client.sessionId, user_id: "u1" });
    const card = shadow().querySelector("[data-nudge='n1']")!;
    expect(card.textContent).toContain(EVIL);
    expect(shadow().querySelector("img")).toBeNull();
    const link = card.querySelector("a")!;
    expect(link.href).toBe("https://help.test/cards");
    expect(link.rel).toContain("noopener");
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(shadow().querySelector("[data-nudge]")).toBeNull();
    await drain(client);
    client.stop();
    expect(sent.events().filter((e) => e.type.startsWith("nudge")).map((e) => e.type)).toEqual(["nudge_shown", "nudge_dismissed"]);
  });

  it("asks again, waiting longer each time, while the detector has not read the session's events", async () => {
    let answered = 0;
    const calls: number[] = [];
    const fetch = vi.fn(async (url: string) => {
      if (url.includes("known-issues")) return new Response(JSON.stringify({ issues: [] }), { status: 200 });
      calls.push(Date.now());
      answered++;
      const ready = answered > 4;  // the fifth answer has the session read
      return new Response(JSON.stringify(ready ? { nudge, reason: "nudge" } : { nudge: null, reason: "no_data" }),
                          { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const { client } = clientWith([ui()], { ui: true }, testEnv({ fetch }));
    client.capture("failed_request", { method: "POST", status: 500, path: "/pay" });
    await vi.advanceTimersByTimeAsync(1700);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1500 + 3000 + 6000 + 6000 + 100);
    expect(calls).toHaveLength(5);
    expect(calls.slice(1).map((t, i) => t - calls[i])).toEqual([1500, 3000, 6000, 6000]);
    expect(shadow().querySelector("[data-nudge='n1']")).not.toBeNull();
    await vi.advanceTimersByTimeAsync(60000);
    expect(calls).toHaveLength(5);  // answered: no more questions
    client.stop();
  });

  it("stops asking after its last wait, until the next friction", async () => {
    const fetchMock = vi.fn(async (url: string) => new Response(JSON.stringify(
      url.includes("known-issues") ? { issues: [] } : { nudge: null, reason: "no_data" }), { status: 200 }));
    const { client } = clientWith([ui()], { ui: true },
                                  testEnv({ fetch: fetchMock as unknown as typeof globalThis.fetch }));
    client.capture("failed_request", { method: "POST", status: 500, path: "/pay" });
    await vi.advanceTimersByTimeAsync(120000);
    const decides = () => fetchMock.mock.calls.filter((c) => String(c[0]).endsWith("/decide")).length;
    expect(decides()).toBe(6);  // the first question and five more
    client.stop();
  });

  it("closes the tip when the person leaves its page, and keeps it on a change of query", async () => {
    const srv = server({ nudge });
    let href = "https://app.test/invoices?tab=1";
    const { client, sent } = clientWith([ui()], { ui: true }, testEnv({ fetch: srv.fetch, href: () => href }));
    client.capture("failed_request", { method: "GET", status: 500, path: "/pdf" });
    await vi.advanceTimersByTimeAsync(1700);
    expect(shadow().querySelector("[data-nudge='n1']")).not.toBeNull();
    href = "https://app.test/invoices?tab=2";
    client.emit("route", "/invoices");
    expect(shadow().querySelector("[data-nudge='n1']")).not.toBeNull();
    href = "https://app.test/upgrade";
    client.emit("route", "/upgrade");
    expect(shadow().querySelector("[data-nudge='n1']")).toBeNull();
    await drain(client);
    client.stop();
    expect(sent.events().filter((e) => e.type.startsWith("nudge")).map((e) => [e.type, e.data])).toEqual([
      ["nudge_shown", { nudge_id: "n1" }], ["nudge_dismissed", { nudge_id: "n1", left_page: true }]]);
  });

  it("does not show again a tip the person closed in this session, even if the server offers it", async () => {
    let offer: unknown = nudge;  // a server that has not read the dismissal yet
    const asked: Record<string, unknown>[] = [];
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (!url.includes("known-issues")) asked.push(JSON.parse(init!.body as string));
      return new Response(JSON.stringify(
        url.includes("known-issues") ? { issues: [] } : { nudge: offer, reason: "nudge" }), { status: 200 });
    });
    let href = "https://app.test/billing";
    const env = testEnv({ fetch: fetch as unknown as typeof globalThis.fetch, href: () => href });
    const { client } = clientWith([ui()], { ui: true, nudgesPerSession: 5 }, env);
    const stuck = async () => {
      client.capture("failed_request", { method: "POST", status: 500, path: "/pay" });
      await vi.advanceTimersByTimeAsync(1700);
    };
    const tip = () => shadow().querySelector("[data-nudge]");
    await stuck();
    expect(tip()!.getAttribute("data-nudge")).toBe("n1");
    href = "https://app.test/other";  // closed by leaving its page: not refused
    client.emit("route", "/other");
    href = "https://app.test/billing";
    client.emit("route", "/billing");
    await vi.advanceTimersByTimeAsync(1100);
    expect(tip()!.getAttribute("data-nudge")).toBe("n1");
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(JSON.parse(sessionStorage.getItem("gs_nudge_closed")!)).toEqual(["n1"]);
    expect(asked.every((b) => !("closed" in b))).toBe(true);  // nothing closed before
    await stuck();
    expect(tip()).toBeNull();
    expect(asked[asked.length - 1].closed).toEqual(["n1"]);  // the server is told, so it can offer another
    // what else the page put in that storage is not sent: the request stays valid
    sessionStorage.setItem("gs_nudge_closed", JSON.stringify(["n1", 7, "no spaces", "x".repeat(65), null]));
    await stuck();
    expect(asked[asked.length - 1].closed).toEqual(["n1"]);
    expect(sessionStorage.getItem("gs_nudge_session")).toBe("2");  // a tip not shown uses no slot
    offer = { ...nudge, id: "n2", title: "Coupon not accepted?" };
    await stuck();
    expect(tip()!.getAttribute("data-nudge")).toBe("n2");
    client.stop();
  });

  it("caps nudges per session and per day on the client", async () => {
    const srv = server({ nudge });
    const { client } = clientWith([ui()], { ui: true, nudgesPerSession: 1 }, testEnv({ fetch: srv.fetch }));
    for (let i = 0; i < 3; i++) {
      client.emit("route", "/p" + i);
      await vi.advanceTimersByTimeAsync(1100);
      document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    }
    expect(srv.calls.filter((c) => c.url.endsWith("/decide"))).toHaveLength(1);
    client.stop();
    sessionStorage.clear();
    localStorage.setItem("gs_nudge_day", JSON.stringify({ d: new Date().toISOString().slice(0, 10), n: 3 }));
    const again = clientWith([ui()], { ui: true }, testEnv({ fetch: srv.fetch }));
    again.client.emit("route", "/x");
    await vi.advanceTimersByTimeAsync(1100);
    expect(srv.calls.filter((c) => c.url.endsWith("/decide"))).toHaveLength(1);
    again.client.stop();
  });
});

describe("layout", () => {
  /** The stylesheet's rules outside media queries (what applies at every width): selector -> declarations. */
  const baseRules = (): [string[], string][] => {
    mountRoot(testEnv());
    const css = shadow().querySelector("style")!.textContent!;  // jsdom has no constructable stylesheets
    let base = "";
    for (let i = 0; i < css.length; i++) {
      if (!css.startsWith("@media", i)) {
        base += css[i];
        continue;
      }
      let depth = 0;  // skip the media query, up to its closing brace
      for (i = css.indexOf("{", i); i < css.length; i++) {
        depth += css[i] === "{" ? 1 : css[i] === "}" ? -1 : 0;
        if (depth === 0) break;
      }
    }
    return [...base.matchAll(/([^{}]+)\{([^{}]*)\}/g)].map((m) => [m[1].split(",").map((s) => s.trim()), m[2]]);
  };

  it("wraps a long word or URL inside the banner and the tip, at every width", () => {
    // on the cards, so that every text part in them inherits it: message, title, body and links
    const rules = baseRules();
    for (const card of [".banner", ".card"]) {
      const wraps = rules.some(([sel, decls]) => sel.indexOf(card) >= 0 && /overflow-wrap:\s*anywhere/.test(decls));
      expect(wraps, `${card} has overflow-wrap:anywhere`).toBe(true);
    }
    const reset = rules.filter(([sel, decls]) => /overflow-wrap|word-wrap|white-space:\s*nowrap/.test(decls) &&
                                                 !/anywhere|break-word/.test(decls));
    expect(reset).toEqual([]);  // and no text part takes it back
  });
});
