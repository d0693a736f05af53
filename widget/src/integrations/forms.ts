/**
 * Form friction: native validation failures (the `invalid` event, one per field per submit attempt),
 * fields an application marks `aria-invalid="true"` after its own or the server's validation, and
 * submits. Only the form's and the field's names are sent: never a value.
 */
import { allowed, formName } from "../core/descriptor";
import type { Integration } from "../core/types";

function fieldName(el: Element): string {
  return (el.getAttribute("name") || el.id || el.tagName.toLowerCase()).replace(/[^\w.-]/g, "").slice(0, 60) || "field";
}

export function forms(): Integration {
  return {
    name: "forms",
    setup(client) {
      const { doc, win } = client.env;
      const { ignoreSelector, allowSelector } = client.options;
      const seen: Record<string, number> = {};
      const fieldError = (el: Element, source: string): void => {
        if (!allowed(el, ignoreSelector, allowSelector)) return;
        const form = formName(el.closest("form"));
        const field = fieldName(el);
        const key = form + "/" + field;
        const now = client.env.now();
        if (now - (seen[key] || 0) < 1000) return; // one report per field per attempt
        seen[key] = now;
        client.capture("form_error", { form, field, source });
      };
      const onInvalid = (e: Event): void => {
        if (e.target && (e.target as Element).tagName) fieldError(e.target as Element, "native");
      };
      const onSubmit = (e: Event): void => {
        const form = e.target as Element;
        if (form && form.tagName === "FORM" && allowed(form, ignoreSelector, allowSelector)) {
          client.capture("form_submit", { form: formName(form) });
        }
      };
      doc.addEventListener("invalid", onInvalid, true);
      doc.addEventListener("submit", onSubmit, true);
      let observer: MutationObserver | undefined;
      if (typeof win.MutationObserver === "function") {
        observer = new win.MutationObserver((records) => {
          for (const r of records) {
            const el = r.target as Element;
            if (el.getAttribute && el.getAttribute("aria-invalid") === "true") fieldError(el, "aria");
          }
        });
        observer.observe(doc.documentElement, { attributes: true, subtree: true, attributeFilter: ["aria-invalid"] });
      }
      return () => {
        doc.removeEventListener("invalid", onInvalid, true);
        doc.removeEventListener("submit", onSubmit, true);
        if (observer) observer.disconnect();
      };
    },
  };
}
