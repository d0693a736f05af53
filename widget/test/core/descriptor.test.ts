import { describe, expect, it } from "vitest";
import { allowed, clickTarget, describe as describeEl, isTextEntry } from "../../src/core/descriptor";

function html(s: string): HTMLElement {
  document.body.innerHTML = s;
  return document.body.firstElementChild as HTMLElement;
}

describe("element descriptors", () => {
  it("names buttons by tag, id, classes, role and short visible text", () => {
    const b = html('<button id="pay" class="btn primary x-12345">  Pay   now </button>');
    expect(describeEl(b)).toBe("button#pay.btn.primary[Pay now]");
    const l = html('<div role="button" aria-label="Close dialog">x</div>');
    expect(describeEl(l)).toBe("div[role=button][Close dialog]");
  });

  it("never includes input values or text of editable elements", () => {
    const i = html('<input name="card" value="4111111111111111">');
    expect(describeEl(i)).toBe("input[name=card]");
    const t = html('<textarea name="note">my secret</textarea>');
    expect(describeEl(t)).not.toContain("secret");
    const lbl = html('<label>Email <input value="me@x.y"></label>');
    expect(describeEl(lbl)).not.toContain("me@x.y");
    const s = html('<input type="submit" value="Send">');
    expect(describeEl(s)).toBe("input[Send]");
    expect(describeEl(html("<p>Paragraph text is not a label</p>"))).toBe("p");
  });

  it("scrubs PII in labels and drops generated ids", () => {
    expect(describeEl(html('<a id="row-837261">Mail jane@x.io</a>'))).toBe("a[Mail email]");
  });

  it("never cuts an emoji in half, in the label or the whole descriptor", () => {
    expect(describeEl(html("<button>" + "x".repeat(39) + "\u{1f4b3} Pay</button>"))).toBe("button[" + "x".repeat(39) + "]");
    const cls = "c" + "d".repeat(39);
    const longest = html('<button id="' + "i".repeat(40) + '" class="' + [cls, cls, cls].join(" ") + '" role="' +
      "r".repeat(40) + '" name="' + "n".repeat(40) + '" aria-label="' + "x".repeat(34) + '\u{1f4b3}">x</button>');
    expect(describeEl(longest)).toHaveLength(299); // the emoji would start at the 300th unit
    expect(describeEl(longest).endsWith("[" + "x".repeat(34))).toBe(true);
  });

  it("finds the clickable ancestor and knows text entry fields", () => {
    const b = html("<button><span>Go</span></button>");
    expect(clickTarget(b.querySelector("span"))).toBe(b);
    expect(isTextEntry(html('<input type="email">'))).toBe(true);
    expect(isTextEntry(html('<input type="checkbox">'))).toBe(false);
    expect(isTextEntry(html('<div contenteditable="true"></div>'))).toBe(true);
  });

  it("honours ignore and allow selectors and data-gs-ignore", () => {
    const root = html('<div data-gs-ignore><button>a</button></div>');
    expect(allowed(root.querySelector("button")!, "", "")).toBe(false);
    const b = html('<div class="secret"><button>a</button></div>').querySelector("button")!;
    expect(allowed(b, ".secret", "")).toBe(false);
    expect(allowed(b, "", ".app")).toBe(false);
    expect(allowed(b, "", ".secret")).toBe(true);
    expect(allowed(b, "((bad", "")).toBe(true);
  });
});
