// Unit tests for the browser code: the widget, the Zendesk sidebar app and the incidents page's plain scripts
// (tests/static/), run in jsdom.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["widget/**/*.test.ts", "zendesk_app/**/*.test.ts", "tests/static/**/*.test.ts"],
    exclude: ["**/node_modules/**", "e2e/**"],
    environment: "jsdom",
    restoreMocks: true,
  },
});
