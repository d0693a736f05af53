// page.js's GS.ticks, which places the week dates under the bars of the report's and the backtest's charts:
// as many as fit without touching, from the latest back, all inside the chart.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

type Ticks = (n: number, middle: (i: number) => number, right: number, room: number) => [number, number][];

let ticks: Ticks;

beforeAll(() => {
  const page = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "server", "static", "page.js");
  new Function(readFileSync(page, "utf8"))();
  ticks = (window as unknown as { GS: { ticks: Ticks } }).GS.ticks;
});

describe("GS.ticks", () => {
  it("labels every slot when each is wider than a label", () => {
    const out = ticks(4, (i) => 24 + i * 100 + 50, 424, 56);
    expect(out.map((t) => t[0])).toEqual([3, 2, 1, 0]);
    expect(out.map((t) => t[1])).toEqual([374, 274, 174, 74]);
  });

  it("skips slots whose label would touch the next one kept, always keeping the latest", () => {
    const out = ticks(13, (i) => 30 + i * 24 + 12, 350, 56);
    expect(out[0][0]).toBe(12);
    for (let k = 1; k < out.length; k++) expect(out[k - 1][1] - out[k][1]).toBeGreaterThanOrEqual(56);
    expect(out.length).toBeGreaterThanOrEqual(4);
    expect(out.length).toBeLessThan(13);
  });

  it("keeps the labels inside the chart: the last one clear of the right edge, the first of the left", () => {
    const out = ticks(2, (i) => (i === 0 ? 5 : 345), 350, 56);
    expect(out).toEqual([[1, 322], [0, 24]]);
    expect(ticks(0, (i) => i, 350, 56)).toEqual([]);
  });
});
