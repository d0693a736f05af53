// The hourly volume chart: tickets per hour as bars against the baseline band (lower..upper) and the expected
// line, as inline SVG, with an incident's own hours shaded behind them. The geometry is a pure function so that
// its arithmetic is tested on its own.
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
  /** Above its band but not one of the incident's hours: drawn muted, so that an earlier rise does not outshine
   * the incident's own. Always false without a span. */
  elsewhere: boolean;
}

/** An incident's own time, in ms since the epoch: from first seen to its resolution (Infinity while it is not
 * resolved, through the hour so far). */
export interface Span {
  start: number;
  end: number;
}

const HOUR = 3_600_000;

/** Whether the hour starting at `p.start` overlaps the span (the incidents page's rule). */
export function inSpan(p: VolumePoint, span: Span | null): boolean {
  const a = Date.parse(p.start);
  return span !== null && a + HOUR > span.start && a <= span.end;
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
  /** SVG path of the incident's span over the whole height (at least 2 wide), or "" when no hour is in it. */
  span: string;
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

export function chartGeometry(points: VolumePoint[], width = 280, height = 72, pad = 2,
                              span: Span | null = null): Geometry {
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
    const above = upper !== null && v > upper;
    return { x: r(i * slot + slot * 0.15), y: top, width: r(slot * 0.7), height: r(height - pad - top),
             above, partial: p.partial === true, elsewhere: above && span !== null && !inSpan(p, span) };
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

  // The span from where first seen falls in its hour's slot to where it ends in its own (the slot's end while
  // it is open).
  let shade = "";
  const own = span ? points.flatMap((p, i) => (inSpan(p, span) ? [i] : [])) : [];
  if (span && own.length) {
    const at = (i: number, t: number) =>
      i * slot + slot * Math.min(1, Math.max(0, (t - Date.parse(points[i].start)) / HOUR));
    const x0 = Math.max(0, Math.min(at(own[0], span.start), width - 2));
    const x1 = Math.max(x0 + 2, at(own[own.length - 1], span.end));
    shade = `M${r(x0)},0H${r(x1)}V${height}H${r(x0)}Z`;
  }

  return { width, height, yMax: r(yMax), bars, band, expected, span: shade };
}

/** The chart element; `label` is its accessible description (role img). `span`: the incident's own time. */
export function volumeChart(points: VolumePoint[], label: string, span: Span | null = null): SVGSVGElement {
  const g = chartGeometry(points, undefined, undefined, undefined, span);
  const chart = svg("svg", { class: "gs-chart", viewBox: `0 0 ${g.width} ${g.height}`, role: "img",
                             "aria-label": label, preserveAspectRatio: "none", focusable: "false" });
  // Behind everything, as a path (the bars are the chart's only rects).
  if (g.span) chart.appendChild(svg("path", { class: "gs-chart-span", d: g.span }));
  if (g.band) chart.appendChild(svg("path", { class: "gs-chart-band", d: g.band }));
  for (const b of g.bars) {
    const cls = "gs-chart-bar" + (b.above ? " gs-chart-bar-above" : "") +
      (b.elsewhere ? " gs-chart-bar-elsewhere" : "") + (b.partial ? " gs-chart-bar-partial" : "");
    chart.appendChild(svg("rect", { class: cls, x: b.x, y: b.y, width: b.width, height: b.height }));
  }
  if (g.expected) chart.appendChild(svg("path", { class: "gs-chart-expected", d: g.expected }));
  return chart;
}
