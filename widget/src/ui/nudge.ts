/**
 * The nudge card: a short, self-contained tip with an optional link. It is a labelled region put in
 * the polite live region with the banners, so it is announced without taking focus (WCAG 1.4.13:
 * dismissible without moving focus): Escape anywhere on the page closes it, and so does its close button;
 * focus inside it goes back to where it was (addCard). All server text goes in through textContent.
 */
import type { Env } from "../core/env";
import { addCard, closeButton, el, newTabLink, safeUrl, type Root } from "./root";

export interface Nudge {
  id: string | number;
  title: string;
  body: string;
  link_url?: string | null;
  link_text?: string | null;
}

export function showNudge(
  env: Env,
  root: Root,
  nudge: Nudge,
  on: { dismiss(leftPage: boolean): void; click(): void },
): () => void {
  const doc = env.doc;
  const card = el(doc, "section", "card");
  card.setAttribute("aria-label", "Help tip");
  card.setAttribute("data-nudge", String(nudge.id));
  card.appendChild(el(doc, "p", "title", String(nudge.title || "").slice(0, 120)));
  card.appendChild(el(doc, "p", "body", String(nudge.body || "").slice(0, 600)));
  const href = safeUrl(nudge.link_url, env.href());
  if (href) {
    const a = newTabLink(doc, href, String(nudge.link_text || "Learn more").slice(0, 60));
    a.addEventListener("click", () => on.click());
    card.appendChild(a);
  }
  let done = false;
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === "Escape") close();
  };
  const close = (leftPage = false): void => {
    if (done) return;
    done = true;
    env.doc.removeEventListener("keydown", onKey, true);
    remove();
    on.dismiss(leftPage);
  };
  card.appendChild(closeButton(doc, "Dismiss this tip", () => close()));
  env.doc.addEventListener("keydown", onKey, true);
  const remove = addCard(root, card);
  return () => close(true);
}
