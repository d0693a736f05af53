// Builds the widget: dist/widget/loader.js (the snippet, also served as a file for strict-CSP pages)
// and dist/widget/core.js, both minified IIFEs for ES2019 browsers. `node widget/build.mjs --watch` rebuilds on change.
import { build, context } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "..", "dist", "widget");
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019"],
  platform: "browser",
  legalComments: "none",
  logLevel: "warning",
};

const entries = [
  { entryPoints: [path.join(here, "src", "index.ts")], outfile: path.join(out, "core.js") },
  { entryPoints: [path.join(here, "src", "loader.ts")], outfile: path.join(out, "loader.js") },
];

if (process.argv.includes("--watch")) {
  for (const e of entries) await (await context({ ...common, ...e })).watch();
  console.log("watching widget/src");
} else {
  for (const e of entries) await build({ ...common, ...e });
  // The loader is pasted inline by customers: keep it one line without a trailing newline.
  const loader = path.join(out, "loader.js");
  writeFileSync(loader, readFileSync(loader, "utf8").trim());
  console.log(`built ${path.relative(process.cwd(), out)}/{loader,core}.js`);
}
