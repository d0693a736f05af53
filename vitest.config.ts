// Unit tests for the browser code: the widget and the Zendesk sidebar app, run in jsdom.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["widget/**/*.test.ts", "zendesk_app/**/*.test.ts"],
    exclude: ["**/node_modules/**", "e2e/**"],
    environment: "jsdom",
    restoreMocks: true,
  },
});
