/**
 * Clicks with element descriptors (tag, id, classes, role, name, and the label of buttons and links:
 * never input values or input text). Clicks on text inputs are not recorded at all. Every click,
 * captured or not, is announced on the "activity" hook so the error-click and dead-click detectors see it.
 */
import { allowed, clickTarget, describe, isTextEntry } from "../core/descriptor";
import type { Integration } from "../core/types";

export interface ClickInfo {
  el: Element;
  target: string;
  x: number;
  y: number;
  ts: number;
  event: MouseEvent;
}

export function clicks(): Integration {
  return {
    name: "clicks",
    setup(client) {
      const { doc } = client.env;
      const { ignoreSelector, allowSelector, captureClicks } = client.options;
      const onClick = (e: Event): void => {
        const me = e as MouseEvent;
        const el = clickTarget(me.target as Element | null);
        if (!el || !el.tagName || !allowed(el, ignoreSelector, allowSelector)) return;
        const info: ClickInfo = { el, target: describe(el), x: me.clientX, y: me.clientY, ts: client.env.now(), event: me };
        client.emit("activity", { kind: "click", info });
        if (captureClicks && !isTextEntry(el)) client.capture("click", undefined, { target: info.target });
      };
      doc.addEventListener("click", onClick, true);
      return () => doc.removeEventListener("click", onClick, true);
    },
  };
}
