import { afterEach, describe, expect, it, vi } from "vitest";
import { install } from "../src/sdk";
import { parseOptions } from "../src/sdk";
import { testEnv } from "./helpers";

type W = Window & { groundswell?: ((...a: unknown[]) => unknown) & { q?: unknown[]; client?: { userId?: string } } };

afterEach(() => {
  delete (window as W).groundswell;
  document.head.innerHTML = "";
  vi.resetModules();
});

describe("loader snippet and core install", () => {
  it("queues calls, injects the core once on init, and the core replays the queue", async () => {
    await import("../src/loader");
    const w = window as W;
    w.groundswell!("identify", "user-1", {}, { userHash: "h" });
    w.groundswell!("init", { siteKey: "gs_site_x", endpoint: "https://gs.example/" });
    w.groundswell!("init", { siteKey: "gs_site_x", endpoint: "https://gs.example" });
    const scripts = document.head.querySelectorAll("script");
    expect(scripts).toHaveLength(1);
    expect(scripts[0].src).toBe("https://gs.example/widget/v1/core.js");
    expect(scripts[0].async).toBe(true);
    expect(w.groundswell!.q).toHaveLength(3);
    const api = install(testEnv({ beacon: () => true }))!;
    expect(w.groundswell).toBe(api);
    expect(api.client!.userId).toBe("user-1");
    expect(install(testEnv())).toBeUndefined(); // a second core does not take over
    api("shutdown");
  });

  it("takes a custom core URL", async () => {
    await import("../src/loader");
    (window as W).groundswell!("init", { siteKey: "k", endpoint: "https://a.test", coreUrl: "/static/core.js" });
    expect(document.head.querySelector("script")!.getAttribute("src")).toBe("/static/core.js");
  });

  it("validates init options from the page", () => {
    expect(parseOptions({ siteKey: "k", endpoint: "ftp://x" })).toBeNull();
    expect(parseOptions({ endpoint: "https://x" })).toBeNull();
    const o = parseOptions({ siteKey: "k", endpoint: "https://x/", maxBatch: 1e6, sampleRate: "all", rageClicks: 5, evil: 1 })!;
    expect(o.endpoint).toBe("https://x");
    expect(o.maxBatch).toBe(100);
    expect(o.sampleRate).toBe(1);
    expect(o.rageClicks).toBe(5);
    expect("evil" in o).toBe(false);
  });
});

describe("default integrations", () => {
  it("sets up page views last, so the first route reaches the UI", async () => {
    const { defaultIntegrations } = await import("../src/sdk");
    const names = defaultIntegrations(parseOptions({ siteKey: "k", endpoint: "https://a.test" })!).map((i) => i.name);
    expect(names[names.length - 1]).toBe("pageview");
    expect(names.indexOf("ui")).toBeGreaterThan(names.indexOf("clicks"));
    expect(defaultIntegrations(parseOptions({ siteKey: "k", endpoint: "https://a.test", ui: false })!).map((i) => i.name)).not.toContain("ui");
  });
});
