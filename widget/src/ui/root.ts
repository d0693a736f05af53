/**
 * The widget's UI host: one element with an open shadow root, styled by a constructable stylesheet
 * (adoptedStyleSheets), which a strict Content-Security-Policy allows: no <style> element, no style
 * attribute, no eval. Only browsers without constructable stylesheets get a <style> element instead.
 */
import type { Env } from "../core/env";

const CSS = `
:host{all:initial;position:fixed;z-index:2147483000;right:16px;bottom:16px;left:auto;max-width:360px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24}
.stack{display:flex;flex-direction:column;gap:8px}
.card,.banner{word-wrap:break-word;overflow-wrap:anywhere;background:#fff;border:1px solid #d0d7de;border-radius:8px;box-shadow:0 6px 24px rgba(0,0,0,.16);padding:12px 40px 12px 14px;position:relative}
.banner{background:#fff8e1;border-color:#e0b400}
.title{font-weight:600;margin:0 0 4px}
.body{margin:0 0 8px}
.msg{margin:0}
a{color:#0b5cad;font-weight:600}
a:focus-visible,button:focus-visible{outline:2px solid #0b5cad;outline-offset:2px}
.x{position:absolute;top:6px;right:6px;width:28px;height:28px;border:0;border-radius:4px;background:transparent;font-size:18px;line-height:1;cursor:pointer;color:#444}
.x:hover{background:rgba(0,0,0,.08)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media (prefers-reduced-motion:no-preference){.card{animation:in .2s ease-out}@keyframes in{from{opacity:0;transform:translateY(8px)}}}
@media (max-width:480px){:host{left:8px;right:8px;bottom:8px;max-width:none;font-size:13px;line-height:1.4}
.live{gap:0;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.18);overflow:hidden}
.live:not(:empty){border:1px solid #d0d7de}
.card,.banner{border:0;border-radius:0;box-shadow:none;padding:6px 36px 6px 10px;overflow:hidden}
.card+.card,.banner+.card,.card+.banner,.banner+.banner{border-top:1px solid #d0d7de}
.title{margin:0 0 2px}.card .body{display:inline;margin:0 6px 0 0}.x{top:4px;right:4px}
.x::before{content:"";position:absolute;inset:-4px -4px -8px -8px}}
`;

export interface Root {
  host: HTMLElement;
  shadow: ShadowRoot;
  /** Polite live region, present before any text is put in it (role=status), holding banners and the tip. */
  status: HTMLElement;
}

export function el<K extends keyof HTMLElementTagNameMap>(doc: Document, tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Only http(s) links (relative ones resolve against the page); anything else yields null. */
export function safeUrl(url: unknown, base: string): string | null {
  if (typeof url !== "string" || !url) return null;
  try {
    const u = new URL(url, base);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

export function mountRoot(env: Env): Root {
  const { doc, win } = env;
  const host = doc.createElement("div");
  host.setAttribute("data-gs-ui", "");
  const shadow = host.attachShadow({ mode: "open" });
  const Sheet = (win as unknown as { CSSStyleSheet?: typeof CSSStyleSheet }).CSSStyleSheet;
  let adopted = false;
  try {
    if (Sheet && "adoptedStyleSheets" in shadow && "replaceSync" in Sheet.prototype) {
      const sheet = new Sheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
      adopted = true;
    }
  } catch {
    adopted = false;
  }
  if (!adopted) shadow.appendChild(el(doc, "style", undefined, CSS));
  const stack = el(doc, "div", "stack");
  // On a narrow screen the banners and the tip share one compact card across the bottom (the CSS above).
  const status = el(doc, "div", "stack live");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  // Each card is read on its own as it arrives, not again with every later one.
  status.setAttribute("aria-atomic", "false");
  stack.appendChild(status);
  shadow.appendChild(stack);
  (doc.body || doc.documentElement).appendChild(host);
  return { host, shadow, status };
}

/**
 * Puts a card (banner or tip) in the live region, so that it is announced politely without taking focus.
 * The returned function removes it; if focus was inside the card, focus goes back to where it was before
 * the person moved into the card, else (that element is gone) to the close button of another card still
 * shown, else it stays on the page's body. Focus elsewhere is never moved.
 */
export function addCard(root: Root, card: HTMLElement): () => void {
  const doc = card.ownerDocument;
  let before: Element | null = null;
  card.addEventListener("focusin", (e) => {
    const from = (e as FocusEvent).relatedTarget as Element | null;
    if (!card.contains(from)) before = from;
  });
  root.status.appendChild(card);
  return () => {
    const had = card.contains(root.shadow.activeElement);
    card.remove();
    if (!had) return;
    for (const t of [before, root.status.querySelector(".x")]) {
      if (!t || !t.isConnected) continue;
      (t as HTMLElement).focus();
      if (t === doc.activeElement || t === root.shadow.activeElement) return;
    }
  };
}

/** A link that opens in a new tab, saying so to screen readers (visually hidden text, part of its name). */
export function newTabLink(doc: Document, href: string, text: string): HTMLAnchorElement {
  const a = el(doc, "a", undefined, text);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  a.appendChild(el(doc, "span", "sr", " (opens in a new tab)"));
  return a;
}

export function closeButton(doc: Document, name: string, onClose: () => void): HTMLButtonElement {
  const b = el(doc, "button", "x", "×");
  b.type = "button";
  b.setAttribute("aria-label", name);
  b.addEventListener("click", onClose);
  return b;
}
