import { beforeEach, describe, expect, it } from "vitest";
import { agentOf, start } from "../src/app";
import { context, fakeZaf, flush } from "./helpers";

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("main");
  document.body.replaceChildren(root);
});

describe("app start", () => {
  it("names the agent by name and email, bounded", () => {
    expect(agentOf({ name: "Ada", email: "ada@x.test" }).label).toBe("Ada <ada@x.test>");
    expect(agentOf({ email: "ada@x.test" }).label).toBe("ada@x.test");
    expect(agentOf(null).label).toBe("Zendesk agent");
    expect(agentOf({ name: "n".repeat(300) }).label).toHaveLength(200);
    expect(agentOf({ locale: "de", timeZone: { ianaName: "Europe/Berlin" } }))
      .toMatchObject({ locale: "de", timeZone: "Europe/Berlin" });
  });

  it("starts the sidebar for the open ticket in ticket_sidebar", async () => {
    const zaf = fakeZaf(() => context());
    await start(zaf, root);
    await flush();
    expect(zaf.requests[0].url).toBe(
      "https://gs.example.org/api/v1/tickets/42/context?by=Ada%20Agent%20%3Cada%40example.com%3E");
    expect(root.textContent).toContain("Incident #12:");
  });

  it("starts the incident list in nav_bar", async () => {
    const zaf = fakeZaf(() => ({ incidents: [], total: 0 }), undefined, "nav_bar");
    await start(zaf, root);
    await flush();
    expect(zaf.requests[0].url).toContain("/api/v1/incidents?status=open,acknowledged");
    expect(root.querySelector("h1")?.textContent).toBe("Active incidents");
  });

  it("refuses to start with a bad backend address", async () => {
    const zaf = fakeZaf(() => context(), { backend_url: "javascript:alert(1)" });
    await expect(start(zaf, root)).rejects.toThrow(/backend_url/);
    expect(zaf.requests).toEqual([]);
  });
});
