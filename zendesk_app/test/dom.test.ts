import { describe, expect, it } from "vitest";
import { el, link, svg } from "../src/dom";

describe("dom builder", () => {
  it("puts strings in as text nodes", () => {
    const node = el("p", {}, "<img src=x onerror=alert(1)>", 3, null, false);
    expect(node.childNodes).toHaveLength(2);
    expect(node.querySelector("img")).toBeNull();
    expect(node.textContent).toBe("<img src=x onerror=alert(1)>3");
  });

  it("refuses event-handler, URL and style attributes", () => {
    expect(() => el("div", { attrs: { onclick: "x" } })).toThrow();
    expect(() => el("a" as "div", { attrs: { href: "javascript:x" } })).toThrow();
    expect(() => svg("rect", { style: "x" })).toThrow();
  });

  it("sets boolean attributes and skips absent ones", () => {
    const b = el("button", { attrs: { disabled: true, "aria-busy": null, title: 'a"b' } });
    expect(b.hasAttribute("disabled")).toBe(true);
    expect(b.hasAttribute("aria-busy")).toBe(false);
    expect(b.getAttribute("title")).toBe('a"b');
  });

  it("links only to http(s) addresses, in a new tab that cannot reach back", () => {
    const a = link("https://gs.example.org/incidents#id=12", { class: "x" }, "<b>Incident</b>");
    expect(a.getAttribute("href")).toBe("https://gs.example.org/incidents#id=12");
    expect(a.target).toBe("_blank");
    expect(a.rel).toBe("noopener noreferrer");
    expect(a.textContent).toBe("<b>Incident</b>");
    for (const bad of ["javascript:alert(1)", "data:text/html,x", "/incidents", "vbscript:x"]) {
      expect(() => link(bad)).toThrow();
    }
  });
});
