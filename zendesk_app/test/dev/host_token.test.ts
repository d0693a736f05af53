// The fake agent workspace (dev/host.ts) with a token the backend refuses: it forgets the token, asks for one
// again and says so in the words of the server's own pages.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it, vi } from "vitest";
import { flush } from "../helpers";

const HTML = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dev/host.html"), "utf8");
const SECRETS = "gs-demo-zendesk-secrets";

it("asks for the token again when the backend refuses it, in the server pages' words", async () => {
  document.documentElement.innerHTML = HTML.replace(/<script[^>]*><\/script>/g, "");
  sessionStorage.setItem(SECRETS, JSON.stringify({ api_token: "gs_sk_revoked" }));
  vi.stubGlobal("fetch", vi.fn(async () => new Response('{"error": {"message": "Invalid token."}}', { status: 401 })));
  await import("../../dev/host");
  const status = () => document.getElementById("host-status")!.textContent;
  for (let i = 0; i < 50 && status() === "Loading tickets…"; i++) await flush(2);
  expect(status()).toBe(
    "That API token was not accepted. Paste the tenant's token (gs_sk_…) again: `groundswell demo` prints the demo's.");
  expect(document.getElementById("token-pane")!.hidden).toBe(false);
  expect(JSON.parse(sessionStorage.getItem(SECRETS)!).api_token).toBe("");
});
