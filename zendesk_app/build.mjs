// Builds the Zendesk app into dist/zendesk_app/ in the marketplace package layout:
//   manifest.json, translations/*.json, assets/iframe.html + app.js + app.css (bundled, ZAF SDK included,
//   no inline script or style, no source maps, nothing loaded from a CDN), and zendesk_app/assets/* (logos).
// It also builds the fake Zendesk agent page (zendesk_app/dev/) into dist/zendesk_app_dev/, which the demo
// server and the browser tests use to host the real bundle; that page is never part of the package.
import { build } from "esbuild";
import { cp, mkdir, readdir, rm, copyFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const APP = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(APP, "..");
const OUT = path.join(ROOT, "dist", "zendesk_app");
const DEV_OUT = path.join(ROOT, "dist", "zendesk_app_dev");

const common = {
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019", "chrome90", "firefox90", "safari14"],
  platform: "browser",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  // The SDK is CommonJS and reads `window`; nothing else may reach the network or the file system.
  define: { "process.env.NODE_ENV": '"production"' },
};

async function exists(p) {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function main() {
  await rm(OUT, { recursive: true, force: true });
  await rm(DEV_OUT, { recursive: true, force: true });
  await mkdir(path.join(OUT, "assets"), { recursive: true });
  await mkdir(DEV_OUT, { recursive: true });

  await build({ ...common, entryPoints: { app: path.join(APP, "src", "main.ts") },
                outdir: path.join(OUT, "assets") });
  await copyFile(path.join(APP, "src", "iframe.html"), path.join(OUT, "assets", "iframe.html"));

  const logos = path.join(APP, "assets");
  if (await exists(logos)) {
    for (const name of await readdir(logos)) {
      if (!name.startsWith(".")) await cp(path.join(logos, name), path.join(OUT, "assets", name), { recursive: true });
    }
  }
  await cp(path.join(APP, "translations"), path.join(OUT, "translations"), { recursive: true });
  const manifest = path.join(ROOT, "manifest.json");
  if (await exists(manifest)) await copyFile(manifest, path.join(OUT, "manifest.json"));
  else console.warn("zendesk_app/build.mjs: no manifest.json at the repository root; the package is incomplete");

  await build({ ...common, entryPoints: { host: path.join(APP, "dev", "host.ts") }, outdir: DEV_OUT });
  await copyFile(path.join(APP, "dev", "host.html"), path.join(DEV_OUT, "host.html"));
  console.log(`zendesk_app: built ${path.relative(ROOT, OUT)} and ${path.relative(ROOT, DEV_OUT)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
