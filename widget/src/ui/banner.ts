/**
 * Known-issue banners: "we know about this, we are on it". Rendered in the polite live region
 * (role=status) that exists before the text arrives; never takes focus, never disappears on its own;
 * dismissed with its close button or Escape while focus is inside it, after which focus goes back to
 * where it was (addCard). Dismissals are remembered per issue id in local storage (at most 50 ids).
 */
import type { Env } from "../core/env";
import { addCard, closeButton, el, newTabLink, safeUrl, type Root } from "./root";

export interface Issue {
  id: string | number;
  message: string;
  link_url?: string | null;
  incident_id?: string | number | null;
}

const KEY = "gs_dismissed";

export function dismissedIds(env: Env): string[] {
  try {
    const s = env.storage("local");
    const v = JSON.parse((s && s.getItem(KEY)) || "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export function rememberDismissed(env: Env, id: string): void {
  const ids = dismissedIds(env).filter((x) => x !== id);
  ids.push(id);
  try {
    const s = env.storage("local");
    if (s) s.setItem(KEY, JSON.stringify(ids.slice(-50)));
  } catch {
    /* not remembered past this page */
  }
}

/** Show one banner; returns what removes it. `onDismiss` runs once when the user closes it. */
export function showBanner(env: Env, root: Root, issue: Issue, onDismiss: () => void): () => void {
  const doc = env.doc;
  // A labelled region, as the tip is ("Help tip"), so that it is found and named in a screen reader.
  const box = el(doc, "section", "banner");
  box.setAttribute("aria-label", "Known issue");
  box.setAttribute("data-issue", String(issue.id));
  const msg = el(doc, "p", "msg", String(issue.message || "").slice(0, 500));
  box.appendChild(msg);
  const href = safeUrl(issue.link_url, env.href());
  if (href) {
    msg.appendChild(doc.createTextNode(" "));
    msg.appendChild(newTabLink(doc, href, "Status and updates"));
  }
  let done = false;
  const close = (): void => {
    if (done) return;
    done = true;
    remove();
    rememberDismissed(env, String(issue.id));
    onDismiss();
  };
  box.appendChild(closeButton(doc, "Dismiss this notice", close));
  box.addEventListener("keydown", (e) => {
    if ((e as KeyboardEvent).key === "Escape") close();
  });
  const remove = addCard(root, box);
  return remove;
}
