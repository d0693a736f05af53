import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { forms } from "../../src/integrations/forms";
import { clientWith, drain } from "../helpers";

beforeEach(() => {
  vi.useFakeTimers();
  document.body.innerHTML =
    '<form name="card"><input name="number" required pattern="[0-9]{16}" value="secret-typed-text"><input name="zip"><button>Pay</button></form>';
});
afterEach(() => vi.useRealTimers());

describe("forms", () => {
  it("reports native validation failures once per field per attempt, by name only", async () => {
    const { client, sent } = clientWith([forms()]);
    const form = document.forms[0];
    form.checkValidity();
    form.checkValidity();
    await vi.advanceTimersByTimeAsync(1100);
    form.checkValidity();
    await drain(client);
    client.stop();
    const evs = sent.events();
    expect(evs).toHaveLength(2);
    expect(evs[0].data).toEqual({ form: "card", field: "number", source: "native" });
    expect(JSON.stringify(evs)).not.toContain("secret-typed-text");
  });

  it("reports fields an app marks aria-invalid, and submits", async () => {
    const { client, sent } = clientWith([forms()]);
    document.querySelector('[name="zip"]')!.setAttribute("aria-invalid", "true");
    await vi.advanceTimersByTimeAsync(0);
    document.forms[0].dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    await drain(client);
    client.stop();
    expect(sent.events().map((e) => [e.type, e.data])).toEqual([
      ["form_error", { form: "card", field: "zip", source: "aria" }],
      ["form_submit", { form: "card" }],
    ]);
  });
});
