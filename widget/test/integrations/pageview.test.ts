import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pageViews } from "../../src/integrations/pageview";
import { clientWith, drain } from "../helpers";

beforeEach(() => {
  vi.useFakeTimers();
  history.replaceState(null, "", "/billing");
  document.title = "Billing for 4111111111111111";
});
afterEach(() => vi.useRealTimers());

describe("page views", () => {
  it("records the load and every path change of a single-page app", async () => {
    const { client, sent } = clientWith([pageViews()]);
    const routes: unknown[] = [];
    client.on("route", (r) => routes.push(r));
    history.pushState(null, "", "/billing/invoices/123");
    history.replaceState(null, "", "/billing/invoices/123?tab=2");
    history.pushState(null, "", "/settings");
    history.back();
    await vi.advanceTimersByTimeAsync(50);
    await drain(client);
    client.stop();
    const evs = sent.events();
    expect(evs.map((e) => e.data)).toEqual([
      { nav: "load" },
      { nav: "push", from: "/billing" },
      { nav: "push", from: "/billing/invoices/:id" },
      { nav: "pop", from: "/settings" },
    ]);
    expect(evs[0].title).toBe("Billing for [number]");
    expect(routes).toEqual(["/billing/invoices/123", "/settings", "/billing/invoices/123"]);
    history.replaceState(null, "", "/");
  });
});
