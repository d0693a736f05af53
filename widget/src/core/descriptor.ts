/**
 * Element descriptors: enough to name what was clicked ("button#pay.primary[Pay now]"), never what
 * was typed. Text is read only from buttons and links, and never from inputs, selects, textareas or
 * editable content.
 */
import { cut, scrubText } from "./scrub";

const TEXT_OK = /^(BUTTON|A|SUMMARY|LABEL)$/;
const ROLE_TEXT_OK = /^(button|link|menuitem|tab|option|treeitem|checkbox|switch)$/;
const CLICKABLE = "a,button,input,select,textarea,summary,label,[role],[onclick],[tabindex]";

/** The nearest element that a user means to click: a button or link around the actual target. */
export function clickTarget(el: Element | null): Element | null {
  if (!el) return null;
  const found = typeof el.closest === "function" ? el.closest(CLICKABLE) : null;
  return found || el;
}

export function isTextEntry(el: Element): boolean {
  const tag = el.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if ((el as HTMLElement).isContentEditable || el.getAttribute("contenteditable") === "true") return true;
  if (tag !== "INPUT") return false;
  const t = ((el as HTMLInputElement).type || "text").toLowerCase();
  return !/^(button|submit|reset|image|checkbox|radio|file|color|range)$/.test(t);
}

/** Visible label of a button or link only: aria-label, else its short text. Scrubbed, at most 40 chars. */
export function label(el: Element): string {
  const aria = el.getAttribute("aria-label");
  if (aria) return scrubText(aria.trim(), 40);
  const role = el.getAttribute("role") || "";
  if (el.tagName === "INPUT") {
    const t = (el as HTMLInputElement).type;
    return t === "submit" || t === "button" || t === "reset" ? scrubText((el as HTMLInputElement).value || t, 40) : "";
  }
  if (!TEXT_OK.test(el.tagName) && !ROLE_TEXT_OK.test(role)) return "";
  if (el.querySelector("input,textarea,select,[contenteditable]")) return "";
  const text = (el.textContent || "").replace(/\s+/g, " ").trim();
  return scrubText(text, 40);
}

function cssIdent(s: string): string {
  return s.replace(/[^\w-]/g, "").slice(0, 40);
}

/** tag#id.class1.class2[role=x][label] bounded to 300 characters. */
export function describe(el: Element): string {
  let out = el.tagName.toLowerCase();
  const id = el.id && !/\d{4,}/.test(el.id) ? cssIdent(el.id) : "";
  if (id) out += "#" + id;
  const cls = (el.getAttribute("class") || "").split(/\s+/).filter((c) => c && !/\d{4,}/.test(c)).slice(0, 3);
  for (const c of cls) {
    const v = cssIdent(c);
    if (v) out += "." + v;
  }
  const role = el.getAttribute("role");
  if (role) out += "[role=" + cssIdent(role) + "]";
  const name = el.getAttribute("name");
  if (name && /^(INPUT|SELECT|TEXTAREA|BUTTON|FORM)$/.test(el.tagName)) out += "[name=" + cssIdent(name) + "]";
  const text = label(el);
  if (text) out += "[" + text.replace(/[[\]]/g, "") + "]";
  return cut(out, 300);
}

function matches(el: Element, selector: string): boolean {
  try {
    return !!selector && !!el.closest(selector);
  } catch {
    return false;
  }
}

/** Whether an element may be captured under the ignore/allow selectors and our own UI. */
export function allowed(el: Element, ignore: string, allow: string): boolean {
  if (matches(el, "[data-gs-ignore],[data-gs-ui]")) return false;
  if (ignore && matches(el, ignore)) return false;
  if (allow && !matches(el, allow)) return false;
  return true;
}

/** A form's name for events: its name or id attribute, never its content. */
export function formName(form: Element | null): string {
  if (!form) return "";
  return cssIdent(form.getAttribute("name") || form.id || "") || "form";
}
