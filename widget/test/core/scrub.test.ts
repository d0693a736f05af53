import { describe, expect, it } from "vitest";
import { cut, scrubPath, scrubText, scrubUrl } from "../../src/core/scrub";

describe("scrubText", () => {
  it("removes emails, card and phone numbers, tokens and ids", () => {
    const out = scrubText(
      "Failed for jane.doe+x@example.com card 4111 1111 1111 1111 phone +1 415-555-0123 " +
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc token=sk_live_abcdef123456 id 3f2b9c4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f",
    );
    expect(out).not.toMatch(/jane|example\.com|4111|415|555|eyJ|sk_live|3f2b9c4e/);
    expect(out).toContain("[email]");
    expect(out).toContain("[number]");
    expect(out).toContain("token=[redacted]");
    expect(out).toContain("[id]");
  });

  it("keeps ordinary messages and bounds length", () => {
    expect(scrubText("TypeError: x is undefined")).toBe("TypeError: x is undefined");
    expect(scrubText("word ".repeat(400), 100)).toHaveLength(100);
  });

  it("never cuts an emoji in half", () => {
    // A page title with an emoji across the 300th unit used to end in a lone "\ud83e".
    const title = scrubText("\u00c4".repeat(299) + "\u{1f9fe} Invoices", 300);
    expect(title).toBe("\u00c4".repeat(299));
    expect(scrubText("\u00c4".repeat(298) + "\u{1f9fe} Invoices", 300)).toBe("\u00c4".repeat(298) + "\u{1f9fe}");
    // the first cut, at twice the length, before the patterns shorten the text
    expect(scrubText("jane.doe@example.io\u{1f9fe}", 10)).toBe("[email]");
    expect(cut("ab\u{1f9fe}", 3)).toBe("ab");
    expect(cut("ab\u{1f9fe}", 4)).toBe("ab\u{1f9fe}");
    expect(cut("ab", 5)).toBe("ab");
  });
});

describe("scrubPath and scrubUrl", () => {
  it("replaces numeric, uuid, hex and token segments and emails", () => {
    expect(scrubPath("/api/invoices/12345/lines/3f2b9c4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f")).toBe("/api/invoices/:id/lines/:id");
    expect(scrubPath("/u/deadbeefdeadbeef00/x")).toBe("/u/:id/x");
    expect(scrubPath("/users/jane%40example.com/profile")).toBe("/users/:id/profile");
    expect(scrubPath("/billing/plans")).toBe("/billing/plans");
  });

  it("drops the query and fragment and refuses other schemes", () => {
    expect(scrubUrl("https://app.test/billing/42?email=a@b.c#tok")).toBe("https://app.test/billing/:id");
    expect(scrubUrl("/pay?card=4111", "https://app.test/x")).toBe("https://app.test/pay");
    expect(scrubUrl("javascript:alert(1)")).toBe("");
  });
});
