/**
 * Abandonment of declared multi-step flows. The page declares progress with
 * `groundswell('flow', name, step, steps)`; reaching `step === steps` completes the flow. A flow that
 * has not advanced for `flowTimeoutMs` (5 minutes) while the page is open, or that is found stale when
 * the next page of the same session loads, is reported once as `form_abandon {flow, step, steps}`.
 * Progress is kept in session storage so that flows spanning several pages are followed.
 */
import type { Integration } from "../core/types";

const KEY = "gs_flows";

interface FlowState {
  step: number;
  steps: number;
  t: number;
}

export function flows(): Integration {
  return {
    name: "flows",
    setup(client) {
      const env = client.env;
      const store = env.storage("session");
      const timeout = client.options.flowTimeoutMs;
      let state: Record<string, FlowState> = {};
      try {
        const raw = JSON.parse((store && store.getItem(KEY)) || "{}");
        if (raw && typeof raw === "object") state = raw;
      } catch {
        /* start empty */
      }
      let timer: number | undefined;
      const save = (): void => {
        try {
          if (store) store.setItem(KEY, JSON.stringify(state));
        } catch {
          /* memory only */
        }
      };
      const check = (): void => {
        const now = env.now();
        let next = Infinity;
        for (const name of Object.keys(state)) {
          const f = state[name];
          if (now - f.t >= timeout) {
            client.capture("form_abandon", { flow: name, step: f.step, steps: f.steps });
            delete state[name];
          } else next = Math.min(next, f.t + timeout - now);
        }
        save();
        env.clearTimeout(timer);
        timer = next < Infinity ? env.setTimeout(check, next) : undefined;
      };
      client.on("flow", (arg) => {
        const [name, step, steps] = arg as [unknown, unknown, unknown];
        const n = String(name || "").replace(/[^\w.-]/g, "").slice(0, 60);
        const s = Math.floor(Number(step));
        const total = Math.floor(Number(steps));
        if (!n || !(s >= 0) || !(total >= 1) || total > 100) return;
        if (s >= total) delete state[n];
        else if (Object.keys(state).length < 10 || state[n]) state[n] = { step: s, steps: total, t: env.now() };
        check();
      });
      check();
      return () => env.clearTimeout(timer);
    },
  };
}
