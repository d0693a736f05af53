// The hourly volume chart: tickets per hour as bars against the baseline band (lower..upper) and the expected
// line, as inline SVG. The geometry is a pure function so that its arithmetic is tested on its own.
import { svg } from "./dom";
import type { VolumePoint } from "./model";

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Above the band's upper edge: drawn in the alert colour. */
  above: boolean;
  /** The hour so far (still open): drawn as solidly as the others; the sidebar says so in words. */
  partial: boolean;
}

export interface Geometry {
  width: number;
  height: number;
  yMax: number;
  bars: Bar[];
  /** SVG path of the band (one closed sub-path per run of points that have both edges), or "". */
  band: string;
  /** SVG path of the expected line (one sub-path per run of points that have it), or "". */
  expected: string;
}

const r = (n: number) => Math.round(n * 100) / 100;

function runs(points: VolumePoint[], has: (p: VolumePoint) => boolean): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  points.forEach((p, i) => {
    if (has(p)) current.push(i);
    else if (current.length) { out.push(current); current = []; }
  });
  if (current.length) out.push(current);
  return out;
}

export function chartGeometry(points: VolumePoint[], width = 280, height = 72, pad = 2): Geometry {
  const n = points.length;
  const safe = (v: number | null) => (v !== null && Number.isFinite(v) ? Math.max(0, v) : null);
  let yMax = 1;
  for (const p of points) yMax = Math.max(yMax, safe(p.tickets) ?? 0, safe(p.upper) ?? 0, safe(p.expected) ?? 0);
  yMax *= 1.1;
  const slot = n ? width / n : width;
  const plot = height - 2 * pad;
  const y = (v: number) => r(height - pad - (Math.min(v, yMax) / yMax) * plot);
  const cx = (i: number) => r(i * slot + slot / 2);

  const bars = points.map((p, i) => {
    const v = safe(p.tickets) ?? 0;
    const top = y(v);
    const upper = safe(p.upper);
    return { x: r(i * slot + slot * 0.15), y: top, width: r(slot * 0.7), height: r(height - pad - top),
             above: upper !== null && v > upper, partial: p.partial === true };
  });

  const band = runs(points, (p) => safe(p.lower) !== null && safe(p.upper) !== null).map((run) => {
    const upperEdge = run.map((i, k) => `${k ? "L" : "M"}${cx(i)},${y(safe(points[i].upper)!)}`);
    const lowerEdge = [...run].reverse().map((i) => `L${cx(i)},${y(safe(points[i].lower)!)}`);
    return [...upperEdge, ...lowerEdge, "Z"].join("");
  }).join("");

  const expected = runs(points, (p) => safe(p.expected) !== null)
    .filter((run) => run.length > 1)
    .map((run) => run.map((i, k) => `${k ? "L" : "M"}${cx(i)},${y(safe(points[i].expected)!)}`).join(""))
    .join("");

  return { width, height, yMax: r(yMax), bars, band, expected };
}

/** The chart element; `label` is its accessible description (role img). */
export function volumeChart(points: VolumePoint[], label: string): SVGSVGElement {
  const g = chartGeometry(points);
  const chart = svg("svg", { class: "gs-chart", viewBox: `0 0 ${g.width} ${g.height}`, role: "img",
                             "aria-label": label, preserveAspectRatio: "none", focusable: "false" });
  if (g.band) chart.appendChild(svg("path", { class: "gs-chart-band", d: g.band }));
  for (const b of g.bars) {
    const cls = "gs-chart-bar" + (b.above ? " gs-chart-bar-above" : "") + (b.partial ? " gs-chart-bar-partial" : "");
    chart.appendChild(svg("rect", { class: cls, x: b.x, y: b.y, width: b.width, height: b.height }));
  }
  if (g.expected) chart.appendChild(svg("path", { class: "gs-chart-expected", d: g.expected }));
  return chart;
}
