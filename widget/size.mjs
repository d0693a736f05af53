// Size budgets of the built widget (run after `npm run build`); exits 1 when one is exceeded.
//  - core.js: at most 12 KB (12,288 bytes) minified + gzip (level 9), the budget.
//  - loader.js: the snippet customers paste inline. It is measured as pasted, minified and
//    uncompressed, and must fit in 1 KB (1,024 bytes); its gzip size is printed as well.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "dist", "widget");
const read = (name) => {
  try {
    return readFileSync(path.join(dist, name));
  } catch {
    console.error(`dist/widget/${name} is missing: run npm run build first`);
    process.exit(1);
  }
};
const gz = (buf) => gzipSync(buf, { level: 9 }).length;

const core = read("core.js");
const loader = read("loader.js");
const checks = [
  { name: "core.js (min+gzip)", size: gz(core), budget: 12 * 1024, note: `${core.length} B minified` },
  { name: "loader.js (min, as pasted)", size: loader.length, budget: 1024, note: `${gz(loader)} B min+gzip` },
];
let failed = false;
for (const c of checks) {
  const ok = c.size <= c.budget;
  failed ||= !ok;
  console.log(`${ok ? "ok  " : "FAIL"} ${c.name}: ${c.size} B of ${c.budget} B (${((100 * c.size) / c.budget).toFixed(0)}%; ${c.note})`);
}
process.exit(failed ? 1 : 0);
