// The incidents page's shared helpers (server/static/page.js), loaded as the page loads the plain script.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll } from "vitest";
import { describeClockCases, type ReplaceClocks } from "../fixtures/utc_clock_cases";

interface PageHelpers { clocks: ReplaceClocks }

let GS: PageHelpers;

beforeAll(() => {
  const page = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "server", "static", "page.js");
  new Function(readFileSync(page, "utf8"))();
  GS = (window as unknown as { GS: PageHelpers }).GS;
});

describeClockCases("GS.clocks", () => GS.clocks);
