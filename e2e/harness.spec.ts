// The browser-test harness itself: a real backend starts, answers, and is authenticated by its token.
import { test, expect } from "@playwright/test";
import { startBackend, type Backend } from "./backend";

let backend: Backend;
test.beforeAll(async () => { backend = await startBackend(); });
test.afterAll(async () => { await backend.stop(); });

test("the backend serves health and refuses an API call without its token", async ({ request }) => {
  expect((await request.get(`${backend.url}/healthz`)).status()).toBe(200);
  expect((await request.get(`${backend.url}/api/v1/incidents`)).status()).toBe(401);
  const ok = await request.get(`${backend.url}/api/v1/incidents`, {
    headers: { Authorization: `Bearer ${backend.api_token}` },
  });
  expect(ok.status()).toBe(200);
});
