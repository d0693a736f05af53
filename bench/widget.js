// Main-thread cost of the widget in a real browser (Debian's chromium through Playwright), against
// baselines measured in the same run, in the same browser:
//   - per captured event: a real click on a button with the widget installed (click capture, rage/dead/
//     error-click detectors, queueing) vs the same click with one empty capture-phase listener;
//     and one `capture()` call vs pushing the same object onto an array;
//   - per flush of 50 events: the synchronous part of a fetch flush (taking the batch, JSON, starting the
//     request) vs JSON.stringify of the same events plus a bare fetch; and a beacon flush (page hide) vs
//     JSON.stringify plus a bare navigator.sendBeacon.
// Rounds alternate widget and baseline; figures are medians over rounds. No network: requests to the fake
// endpoint are answered by Playwright inside the browser process.
//
// Usage: node bench/widget.js [--rounds 15] [--write]   (run `npm run build` first)
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "@playwright/test";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf("--rounds") + 1]) || 15;
const WRITE = args.includes("--write");
const CLICKS = 400;
const CAPTURES = 2000;
const BATCH = 50;
const FLUSHES = 40;
const ENDPOINT = "http://gs.bench";

const core = readFileSync(path.join(ROOT, "dist", "widget", "core.js"), "utf8");
const PAGE = `<!doctype html><html><body>${Array.from({ length: 20 }, (_, i) =>
  `<button id="b${i}" class="btn">Action ${i}</button>`).join("")}<p id="out"></p></body></html>`;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function newPage(browser, withWidget) {
  const page = await browser.newPage();
  await page.route(`${ENDPOINT}/**`, (route) =>
    route.fulfill({ status: route.request().url().includes("known-issues") ? 200 : 202,
                    contentType: "application/json", body: '{"issues":[],"accepted":1,"duplicates":0}' }));
  await page.route("http://bench.page/", (route) => route.fulfill({ contentType: "text/html", body: PAGE }));
  await page.goto("http://bench.page/");
  if (withWidget) {
    await page.evaluate((endpoint) => {
      window.groundswell = function () { (window.groundswell.q = window.groundswell.q || []).push(arguments); };
      window.groundswell("init", { siteKey: "gs_pk_bench", endpoint, flushInterval: 3_600_000, maxQueue: 5000,
                                   frictionFlushDelay: 3_600_000, ui: false });
    }, ENDPOINT);
    await page.addScriptTag({ content: core });
    await page.waitForFunction(() => window.groundswell && window.groundswell.client);
  } else {
    await page.evaluate(() => document.addEventListener("click", () => {}, true));
  }
  return page;
}

/** Microseconds per click, per capture() and per flush, measured inside the page. */
function measure(page, withWidget) {
  return page.evaluate(async ({ withWidget, CLICKS, CAPTURES, BATCH, FLUSHES, ENDPOINT }) => {
    const buttons = [...document.querySelectorAll("button")];
    const client = withWidget ? window.groundswell.client : null;
    const sink = [];
    let t = performance.now();
    for (let i = 0; i < CLICKS; i++) buttons[i % buttons.length].click();
    const click = ((performance.now() - t) * 1000) / CLICKS;
    const data = { name: "bench", step: 3, ok: true };
    t = performance.now();
    for (let i = 0; i < CAPTURES; i++) {
      if (client) client.capture("custom", data);
      else sink.push({ id: "x" + i, type: "custom", ts: Date.now(), url: location.href, data: { ...data } });
    }
    const capture = ((performance.now() - t) * 1000) / CAPTURES;
    // flushes: fill the queue with BATCH events, then time the synchronous part of one flush
    const events = Array.from({ length: BATCH }, (_, i) => ({ id: "e" + i, type: "click", ts: Date.now(),
      url: location.href, target: "button#b" + i + ".btn[Action " + i + "]" }));
    // start the flushes from an empty queue (untimed; by fetch, which has no in-flight quota)
    for (let guard = 0; client && client.queueSize() && guard < 1000; guard++) await client.flush();
    let flush = 0;
    let beacon = 0;
    let refused = 0;
    for (let f = 0; f < FLUSHES; f++) {
      if (client) {
        for (let i = 0; i < BATCH; i++) client.capture("click", undefined, { target: events[i].target });
        t = performance.now();
        const p = client.flush();
        flush += performance.now() - t;
        await p;
        for (let i = 0; i < BATCH; i++) client.capture("click", undefined, { target: events[i].target });
        t = performance.now();
        client.flushBeacon();
        beacon += performance.now() - t;
        refused += client.queueSize() > 0 ? 1 : 0;
        client.flushBeacon();
      } else {
        t = performance.now();
        const p = fetch(ENDPOINT + "/api/v1/events", { method: "POST", body: JSON.stringify({ events }),
                                                      headers: { "Content-Type": "text/plain" } });
        flush += performance.now() - t;
        await p;
        t = performance.now();
        const ok = navigator.sendBeacon(ENDPOINT + "/api/v1/events", JSON.stringify({ events }));
        beacon += performance.now() - t;
        refused += ok ? 0 : 1;
      }
      // let the beacon complete: browsers refuse beacons past 64 KiB in flight, a state a real page hide never reaches
      await new Promise((r) => setTimeout(r, 40));
    }
    sink.length = 0;
    return { click, capture, flush: (flush * 1000) / FLUSHES, beacon: (beacon * 1000) / FLUSHES, refused };
  }, { withWidget, CLICKS, CAPTURES, BATCH, FLUSHES, ENDPOINT });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
const results = { widget: [], baseline: [] };
try {
  const widgetPage = await newPage(browser, true);
  const basePage = await newPage(browser, false);
  await measure(widgetPage, true); // warm-up (JIT)
  await measure(basePage, false);
  for (let r = 0; r < ROUNDS; r++) {
    const pair = r % 2 ? [["baseline", basePage, false], ["widget", widgetPage, true]] : [["widget", widgetPage, true], ["baseline", basePage, false]];
    for (const [name, page, w] of pair) results[name].push(await measure(page, w));
  }
  const dropped = await widgetPage.evaluate(() => window.groundswell.client.queueSize());
  if (dropped > 5000) throw new Error("queue unbounded");
} finally {
  await browser.close();
}

const refusedBeacons = { widget: results.widget.reduce((a, x) => a + x.refused, 0),
                         baseline: results.baseline.reduce((a, x) => a + x.refused, 0) };
const rows = ["click", "capture", "flush", "beacon"].map((k) => {
  const w = median(results.widget.map((x) => x[k]));
  const b = median(results.baseline.map((x) => x[k]));
  return { k, w, b, ratio: w / b, extra: w - b };
});
const labels = {
  click: ["one real click (captured, rage/dead/error-click detectors)", "same click, one empty listener"],
  capture: ["one capture() call", "push one event object onto an array"],
  flush: [`fetch flush of ${BATCH} events (synchronous part)`, "JSON.stringify + bare fetch"],
  beacon: [`beacon flush of ${BATCH} events (page hide)`, "JSON.stringify + bare sendBeacon"],
};
const table = [
  "| what | widget µs | baseline | baseline µs | ratio | widget extra µs |",
  "|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${labels[r.k][0]} | ${r.w.toFixed(1)} | ${labels[r.k][1]} | ${r.b.toFixed(1)} | ${r.ratio.toFixed(2)}× | ${r.extra.toFixed(1)} |`),
].join("\n");
const gz = (await import("node:zlib")).gzipSync(Buffer.from(core), { level: 9 }).length;
console.log(table);
console.log(`\ncore.js ${core.length} B minified, ${gz} B min+gzip; medians of ${ROUNDS} alternating rounds; ` +
            `beacons refused by the browser: widget ${refusedBeacons.widget}, baseline ${refusedBeacons.baseline}`);

if (WRITE) {
  const file = path.join(ROOT, "bench", "RESULTS.md");
  const text = readFileSync(file, "utf8");
  const date = new Date().toISOString().slice(0, 10);
  const section = `## Widget main-thread cost (\`bench/widget.js\`)\n\n` +
    `Command: \`npm run build && node bench/widget.js --rounds ${ROUNDS} --write\` (${date}, headless Debian chromium, 2-core machine)\n\n` +
    `Medians of ${ROUNDS} rounds alternating the widget page and its baseline page in the same browser; ` +
    `core.js ${core.length} B minified, ${gz} B min+gzip. Beacons refused by the browser: ` +
    `widget ${refusedBeacons.widget}, baseline ${refusedBeacons.baseline}.\n\n${table}\n\n` +
    "Reading: the ratio compares like with like on this machine in this run; the extra µs is the widget's own " +
    "main-thread cost. At 60 frames a second a frame has 16,667 µs.\n";
  const start = text.indexOf("## Widget main-thread cost");
  let out;
  if (start >= 0) {
    const next = text.indexOf("\n## ", start + 1);
    out = text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : "");
  } else out = text.trimEnd() + "\n\n" + section;
  writeFileSync(file, out);
  console.log("wrote bench/RESULTS.md");
}
