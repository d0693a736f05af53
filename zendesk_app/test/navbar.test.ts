import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApi } from "../src/api";
import { createFormatter } from "../src/format";
import { countsText, startNavbar, type Navbar } from "../src/navbar";
import { parseIncidents } from "../src/model";
import { fakeZaf, flush, httpError, incident, XSS } from "./helpers";

let root: HTMLElement;
let navbar: Navbar | null = null;
beforeEach(() => {
  root = document.createElement("main");
  document.body.replaceChildren(root);
});
afterEach(() => navbar?.stop());

describe("nav bar", () => {
  it("lists open incidents with sentence, counts and status", async () => {
    const zaf = fakeZaf(() => ({ incidents: [incident(), incident({ id: 13, status: "acknowledged", title: XSS,
                                                                     problem_ticket_id: 900,
                                                                     llm_summary: "PDF export fails for <b>EU</b> accounts." })],
                                 total: 2 }),
                        undefined, "nav_bar");
    const opened: string[] = [];
    navbar = startNavbar({ api: createApi(zaf), fmt: createFormatter("en-US", "UTC"), root, refreshMs: 3_600_000,
                           openTicket: (id) => opened.push(id) });
    await flush();
    expect(zaf.requests[0].url).toBe("https://gs.example.org/api/v1/incidents?status=open,acknowledged&limit=50");
    const items = [...root.querySelectorAll(".gs-nav-item")];
    expect(items).toHaveLength(2);
    expect(items[0].querySelector("h2")?.textContent).toBe("Incident #12: Spike: 'invoice pdf · blank'");
    expect(items[0].textContent).toContain("17 tickets · 15 customers · first seen Nov 23, 10:04 AM");
    expect(items[0].querySelector(".gs-chip")?.textContent).toBe("Open");
    expect(items[1].querySelector(".gs-chip")?.textContent).toBe("Acknowledged");
    expect(items[1].textContent).toContain(XSS);
    expect(items[0].querySelector(".gs-summary")).toBeNull();
    expect(items[1].querySelector(".gs-summary")?.textContent).toBe(
      "Summary by Claude: PDF export fails for <b>EU</b> accounts.");
    expect(items[0].querySelector("button")).toBeNull();
    items[1].querySelector("button")!.click();
    expect(items[1].querySelector("button")?.textContent).toBe("Open problem ticket #900");
    expect(opened).toEqual(["900"]);
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector('[role="status"]')?.textContent).toBe("1 open, 1 acknowledged.");
    expect(root.querySelector("a")).toBeNull();  // no address for the server's pages: nothing to follow
  });

  it("counts incidents by status, as the incidents page does", () => {
    const list = (...statuses: string[]) => parseIncidents(statuses.map((status, i) => incident({ id: i + 1, status })));
    expect(countsText({ incidents: list("open", "open", "open", "open", "acknowledged"), total: 5 }))
      .toBe("4 open, 1 acknowledged.");
    expect(countsText({ incidents: list("open"), total: 1 })).toBe("1 open incident.");
    expect(countsText({ incidents: list("open", "open"), total: 2 })).toBe("2 open incidents.");
    expect(countsText({ incidents: list("acknowledged"), total: 1 })).toBe("1 acknowledged incident.");
    expect(countsText({ incidents: list("acknowledged", "acknowledged"), total: 2 })).toBe("2 acknowledged incidents.");
    expect(countsText({ incidents: [], total: 0 })).toBe("0 open incidents.");
    // A list cut at its limit cannot be counted by status: it says how many there are and how many it shows.
    expect(countsText({ incidents: list("open", "acknowledged"), total: 63 }))
      .toBe("63 open or acknowledged incidents; the newest 2 are listed.");
  });

  it("leads from each card to its incident on the server's incidents page, in a new tab", async () => {
    const zaf = fakeZaf(() => ({ incidents: [incident(), incident({ id: 13, status: "acknowledged", title: XSS,
                                                                     problem_ticket_id: 900 })], total: 2 }),
                        undefined, "nav_bar");
    const opened: string[] = [];
    navbar = startNavbar({ api: createApi(zaf), fmt: createFormatter("en-US", "UTC"), root, refreshMs: 3_600_000,
                           openTicket: (id) => opened.push(id),
                           incidentUrl: (id) => `https://gs.example.org/incidents#id=${id}` });
    await flush();
    const items = [...root.querySelectorAll(".gs-nav-item")];
    const links = items.map((li) => li.querySelector<HTMLAnchorElement>("h2 a.gs-nav-link")!);
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["https://gs.example.org/incidents#id=12",
                                                              "https://gs.example.org/incidents#id=13"]);
    expect(links.every((a) => a.target === "_blank" && a.rel === "noopener noreferrer")).toBe(true);
    expect(items.every((li) => li.classList.contains("gs-nav-linked"))).toBe(true);
    expect(links[1].textContent).toBe(`Incident #13: ${XSS} (opens on Groundswell's incidents page, in a new tab)`);
    expect(items[1].querySelector("h2")?.textContent).toContain(XSS);
    expect(root.querySelector("img")).toBeNull();
    // The problem ticket's button still opens it in Zendesk.
    items[1].querySelector("button")!.click();
    expect(opened).toEqual(["900"]);
  });

  it("counts a friction incident's sessions on its page, not tickets", async () => {
    const friction = incident({ id: 14, kind: "friction", title: "Failed requests and rage clicks on /invoices",
                                sentence: "48 failed requests (usually 4.9 an hour) on /invoices.",
                                ticket_count: 0, requester_count: 30, account_count: 0,
                                evidence: { path: "/invoices", sessions: 43, signal: "failed_request" } });
    const zaf = fakeZaf(() => ({ incidents: [friction], total: 1 }), undefined, "nav_bar");
    navbar = startNavbar({ api: createApi(zaf), fmt: createFormatter("en-US", "UTC"), root, refreshMs: 3_600_000 });
    await flush();
    const item = root.querySelector(".gs-nav-item")!;
    expect(item.textContent).toContain("43 sessions on /invoices · first seen Nov 23, 10:04 AM");
    expect(item.textContent).not.toContain("tickets");
  });

  it("says when nothing is open, and refreshes", async () => {
    let list: unknown[] = [];
    const zaf = fakeZaf(() => ({ incidents: list, total: list.length }), undefined, "nav_bar");
    navbar = startNavbar({ api: createApi(zaf), fmt: createFormatter("en-US", "UTC"), root, refreshMs: 20 });
    await flush();
    expect(root.textContent).toContain("No open incidents.");
    list = [incident()];
    await new Promise((resolve) => setTimeout(resolve, 50));
    await flush();
    expect(root.querySelectorAll(".gs-nav-item")).toHaveLength(1);
  });

  it("shows an error first, and keeps the list when a later refresh fails", async () => {
    let fail = true;
    const zaf = fakeZaf(() => {
      if (fail) throw httpError(401, "unauthorized", "Unknown or revoked API token.");
      return { incidents: [incident()], total: 1 };
    }, undefined, "nav_bar");
    navbar = startNavbar({ api: createApi(zaf), fmt: createFormatter("en-US", "UTC"), root, refreshMs: 3_600_000 });
    await flush();
    expect(root.querySelector('[role="alert"]')?.textContent).toContain("refused the app's credentials");
    fail = false;
    await navbar.refresh();
    expect(root.querySelectorAll(".gs-nav-item")).toHaveLength(1);
    fail = true;
    await navbar.refresh();
    expect(root.querySelectorAll(".gs-nav-item")).toHaveLength(1);
    expect(root.querySelector('[role="status"]')?.textContent).toContain("refused");
  });
});
