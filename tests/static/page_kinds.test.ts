// The incident kinds' names and the "Your name" storage key, defined once in server/static/page.js for the
// incidents page's scripts and the dashboard (tests/incidents/test_settings.py holds the names to the server's).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, expect, it } from "vitest";

const STATIC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "server", "static");

interface PageHelpers {
  KIND_NAMES: Record<string, string>;
  kindName(kind: unknown): string;
  BY_KEY: string;
}

let GS: PageHelpers;

beforeAll(() => {
  new Function(readFileSync(join(STATIC, "page.js"), "utf8"))();
  GS = (window as unknown as { GS: PageHelpers }).GS;
});

it("names each kind, and an unknown one as the API writes it", () => {
  expect(GS.kindName("new_topic")).toBe("New topic");
  expect(GS.kindName("friction")).toBe("In-app friction");
  expect(Object.keys(GS.KIND_NAMES).map(GS.kindName)).toEqual(Object.values(GS.KIND_NAMES));
  expect(GS.kindName("outage")).toBe("outage");
  expect(GS.kindName("constructor")).toBe("constructor");  // not a property every object has
  expect(GS.kindName(undefined)).toBe("");
  expect(Object.isFrozen(GS.KIND_NAMES)).toBe(true);
});

it("keeps the name's storage key in page.js alone", () => {
  expect(GS.BY_KEY).toBe("groundswell.by");
  for (const script of ["incidents.js", "tuning.js", "alerts.js", "dashboard.js", "accounts.js", "report.js"]) {
    expect(readFileSync(join(STATIC, script), "utf8"), script).not.toContain("groundswell.by");
  }
});
