// The sidebar's hourly chart as a card shows it: the chart (chart.ts) with its words around it, the hour so far
// over it, the time ticks and the key to the incident's colours under it, and the description a screen reader
// reads instead.
import { inSpan, volumeChart, type Span } from "./chart";
import { el, svg, type Child } from "./dom";
import type { Formatter } from "./format";
import { t } from "./i18n";
import type { VolumePoint } from "./model";

/** The sidebar chart's scale reaches this many times the usual hour; a spike above it is drawn cut. */
const CHART_CAP = 3;

/**
 * Where a spike would flatten the usual hours to a strip, the scale stops at CHART_CAP times the usual hour
 * (the hours' 90th percentile with the largest left out, or the band's usual upper edge when that is higher),
 * as the dashboard's per-minute chart does; only a peak above twice that is worth cutting. `cap` is null when
 * nothing is cut; else `drawn` holds the points to draw, each value held at the cap.
 */
function chartScale(points: VolumePoint[]): { cap: number | null; drawn: VolumePoint[] } {
  const finite = (v: number | null) => (v !== null && Number.isFinite(v) ? Math.max(0, v) : null);
  const ninetieth = (values: number[]) => values.length ? values[Math.max(0, Math.ceil(values.length * 0.9) - 1)] : 0;
  const counts = points.map((p) => finite(p.tickets) ?? 0).sort((a, b) => a - b);
  const peak = counts.pop() ?? 0;
  const uppers = points.map((p) => finite(p.upper)).filter((v): v is number => v !== null).sort((a, b) => a - b);
  const cap = Math.ceil(Math.max(1, CHART_CAP * ninetieth(counts), ninetieth(uppers)));
  if (peak <= 2 * cap) return { cap: null, drawn: points };  // the usual hours stay a sixth of the height or more
  const clip = (v: number | null) => (v === null ? v : Math.min(v, cap));
  return { cap, drawn: points.map((p) => ({ ...p, tickets: Math.min(finite(p.tickets) ?? 0, cap), lower: clip(p.lower),
                                             upper: clip(p.upper), expected: clip(p.expected) })) };
}

/**
 * The hourly chart with its words: over it, the hour so far with its real count ("This hour so far: 65", in the
 * alert colour when above its band), since that is where an incident is happening; under it, the time ticks
 * ("48 h ago", "now") as on the dashboard's chart. The SVG is stretched to the column's width, so words stay
 * in HTML, where they are not stretched with it.
 *
 * On an incident's card, `since` (its first-seen time) starts its span: the incident's own hours, through the
 * hour so far (the sidebar lists only open and acknowledged incidents), are shaded, as on the incidents page,
 * and an hour above its band outside them is drawn muted, so that an earlier rise does not outshine the
 * incident. The chart's description says which hours are the incident's.
 */
export function chartView(points: VolumePoint[], fmt: Formatter, since: string | null = null): Child {
  if (points.length < 2) return null;
  const last = points[points.length - 1];
  const band = last.lower !== null && last.upper !== null;
  const latest = last.partial ? "so_far" : "latest";
  const start = since ? Date.parse(since) : NaN;
  const span: Span | null = Number.isNaN(start) ? null : { start, end: Infinity };
  const above = (p: VolumePoint) => p.upper !== null && p.tickets > p.upper;
  const own = points.filter((p) => inSpan(p, span));
  const elsewhere = span ? points.filter((p) => above(p) && !inSpan(p, span)).length : 0;
  let label = band
    ? t(`sidebar.chart.label_band_${latest}`, { hours: points.length, latest: fmt.number(last.tickets),
                                                lower: fmt.number(last.lower!), upper: fmt.number(last.upper!) })
    : t(`sidebar.chart.label_${latest}`, { hours: points.length, latest: fmt.number(last.tickets) });
  if (own.length) {
    const ownAbove = own.filter(above).length;
    label += " " + t("sidebar.chart.label_incident", { count: own.length, n: fmt.number(own.length),
                                                       since: fmt.time(since) }) +
      (ownAbove ? t("sidebar.chart.label_incident_above", { count: ownAbove, n: fmt.number(ownAbove) }) : "") + ".";
  }
  if (elsewhere) label += " " + t("sidebar.chart.label_elsewhere", { count: elsewhere, n: fmt.number(elsewhere) });
  const caption = t(band ? "sidebar.chart.caption_band" : "sidebar.chart.caption", { hours: points.length }) +
    (last.partial ? " " + t("sidebar.chart.caption_so_far") : "");
  const { cap, drawn } = chartScale(points);
  const chart = volumeChart(drawn, label, span);
  if (cap !== null) {
    // Each hour above the scale: its bar in the alert colour when above its band, a white break across its top,
    // its count as the bar's title; "N+" beside the first such bar.
    const bars = chart.querySelectorAll("rect");
    const cut = points.map((p, i) => ({ p, bar: bars[i] })).filter(({ p, bar }) => bar && p.tickets > cap);
    const at = (bar: SVGRectElement, name: string) => Number(bar.getAttribute(name));
    for (const { p, bar } of cut) {
      bar.classList.add("gs-chart-bar-cut");
      if (above(p)) bar.classList.add("gs-chart-bar-above");
      if (above(p) && span && !inSpan(p, span)) bar.classList.add("gs-chart-bar-elsewhere");
      bar.appendChild(svg("title", {}, fmt.number(p.tickets)));
      const [x, y, w] = [at(bar, "x"), at(bar, "y"), at(bar, "width")];
      bar.after(svg("path", { class: "gs-chart-cut", fill: "#fff",
                              d: `M${x},${y + 7}L${x + w},${y + 3}L${x + w},${y + 6}L${x},${y + 10}Z` }));
    }
    // A closed hour drawn cut says its real count beside it (the hour so far says its own over the chart).
    const closed = cut.find(({ p }) => !p.partial);
    if (closed) {
      const bar = closed.bar, left = at(bar, "x") > 30;
      chart.appendChild(svg("text", {
        class: "gs-chart-cap", x: left ? at(bar, "x") - 2 : at(bar, "x") + at(bar, "width") + 2, y: at(bar, "y") + 8,
        "text-anchor": left ? "end" : "start", "font-size": 9, fill: "currentColor", stroke: "#fff", "stroke-width": 3,
        "paint-order": "stroke" }, fmt.number(closed.p.tickets)));
    }
  }
  const rising = above(last) && (!span || inSpan(last, span));
  const hoursAgo = last.partial ? points.length - 1 : points.length;
  // The key to the incident's colours, for the eye (the chart's description says it in words).
  const key = own.length
    ? el("div", { class: "gs-chart-key gs-muted", attrs: { "aria-hidden": "true" } },
         el("span", {}, el("span", { class: "gs-swatch gs-swatch-span" }), t("sidebar.chart.key_incident")),
         elsewhere ? el("span", {}, el("span", { class: "gs-swatch gs-swatch-elsewhere" }),
                        t("sidebar.chart.key_elsewhere")) : null)
    : null;
  return el("figure", { class: "gs-figure" },
    last.partial
      ? el("p", { class: rising ? "gs-chart-now gs-chart-now-above" : "gs-chart-now", attrs: { "aria-hidden": "true" } },
           t("sidebar.chart.now", { n: fmt.number(last.tickets) }))
      : null,
    chart,
    el("div", { class: "gs-chart-ticks gs-muted", attrs: { "aria-hidden": "true" } },
       el("span", {}, t("sidebar.chart.ago", { hours: hoursAgo })), el("span", {}, t("sidebar.chart.tick_now"))),
    key,
    el("figcaption", { class: "gs-muted" }, caption));
}
