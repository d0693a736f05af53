/**
 * The async loader snippet (loader.js), at most 1 KB minified. It defines `groundswell(...)` as a
 * stub that queues calls; the first `init` injects core.js (from `coreUrl`, else
 * `{endpoint}/widget/v1/core.js`) with async. Loaded as an external file (strict CSP pages), it reads
 * `data-site-key` and `data-endpoint` (default: its own origin) from its script tag and calls init.
 */
((w: Window & { groundswell?: unknown }, d: Document) => {
  type Stub = ((...a: unknown[]) => void) & { q: unknown[]; s?: boolean };
  if (w.groundswell) return;
  const stub = function (...a: unknown[]) {
    stub.q.push(a);
    const o = a[1] as { endpoint?: string; coreUrl?: string } | undefined;
    if (a[0] === "init" && !stub.s && o) {
      stub.s = true;
      const s = d.createElement("script");
      s.async = true;
      s.src = o.coreUrl || String(o.endpoint).replace(/\/+$/, "") + "/widget/v1/core.js";
      d.head.appendChild(s);
    }
  } as Stub;
  stub.q = [];
  w.groundswell = stub;
  const me = d.currentScript as HTMLScriptElement | null;
  const key = me && me.getAttribute("data-site-key");
  if (key) stub("init", { siteKey: key, endpoint: me!.getAttribute("data-endpoint") || new URL(me!.src).origin });
})(window, document);
export {};
