import { describe, expect, it } from "vitest";
import { chartGeometry, inSpan, volumeChart } from "../src/chart";
import type { VolumePoint } from "../src/model";

const p = (tickets: number, band: [number, number] | null = [0, 4], expected: number | null = 2): VolumePoint => ({
  start: "2026-11-23T00:00:00Z", tickets, expected, lower: band ? band[0] : null, upper: band ? band[1] : null,
});

const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-23T00:00:00Z");
/** The hour `i` hours after midnight, with a band of 0 to 4. */
const hour = (i: number, tickets: number): VolumePoint =>
  ({ ...p(tickets), start: new Date(T0 + i * HOUR).toISOString() });

describe("chart geometry", () => {
  it("scales bars to the largest of tickets, band and expectation, with 10% headroom", () => {
    const g = chartGeometry([p(1), p(10)], 200, 112, 1);
    expect(g.yMax).toBe(11);
    // plot height 110: 10 tickets of 11 -> 100 px high, from y = 111 - 100 = 11
    expect(g.bars[1]).toEqual({ x: 115, y: 11, width: 70, height: 100, above: true, partial: false, elsewhere: false });
    expect(g.bars[0]).toEqual({ x: 15, y: 101, width: 70, height: 10, above: false, partial: false, elsewhere: false });
  });

  it("draws the band along the upper edge and back along the lower edge, closed", () => {
    const g = chartGeometry([p(0, [1, 3]), p(0, [2, 5])], 100, 57, 1);
    // yMax = 5 * 1.1 = 5.5; plot 55; y(v) = 56 - v * 10
    expect(g.band).toBe("M25,26L75,6L75,36L25,46Z");
  });

  it("splits band and expected line where points lack them", () => {
    const g = chartGeometry([p(1), p(1), p(1, null, null), p(1), p(1), p(1)], 60, 40);
    expect(g.band.match(/M/g)).toHaveLength(2);
    expect(g.band.match(/Z/g)).toHaveLength(2);
    expect(g.expected.match(/M/g)).toHaveLength(2);
  });

  it("marks only hours above the band's upper edge", () => {
    const g = chartGeometry([p(4), p(5), p(9, null)]);
    expect(g.bars.map((b) => b.above)).toEqual([false, true, false]);
  });

  it("marks the hour so far, above its band or not", () => {
    const g = chartGeometry([p(1), p(2), { ...p(9), partial: true }]);
    expect(g.bars.map((b) => [b.partial, b.above])).toEqual([[false, false], [false, false], [true, true]]);
    const svg = volumeChart([p(1), { ...p(3), partial: true }], "Tickets per hour");
    expect(svg.querySelectorAll("rect.gs-chart-bar-partial")).toHaveLength(1);
    expect(svg.querySelectorAll("rect")[1].getAttribute("class")).toBe("gs-chart-bar gs-chart-bar-partial");
  });

  it("survives empty, zero, negative and non-finite input", () => {
    expect(chartGeometry([]).bars).toEqual([]);
    const g = chartGeometry([p(0, [0, 0], 0), p(-3, [-1, Number.NaN], Number.POSITIVE_INFINITY)]);
    expect(g.yMax).toBeCloseTo(1.1);
    for (const b of g.bars) {
      expect(Number.isFinite(b.y) && Number.isFinite(b.height) && b.height >= 0).toBe(true);
    }
    expect(g.expected).toBe("");
  });

  it("builds an accessible SVG with one rect per hour", () => {
    const svg = volumeChart([p(1), p(2), p(8)], "Tickets per hour");
    expect(svg.namespaceURI).toBe("http://www.w3.org/2000/svg");
    expect(svg.getAttribute("aria-label")).toBe("Tickets per hour");
    expect(svg.querySelectorAll("rect")).toHaveLength(3);
    expect(svg.querySelectorAll(".gs-chart-bar-above")).toHaveLength(1);
    expect(svg.querySelector(".gs-chart-expected")?.getAttribute("d")).toMatch(/^M[\d.]+,[\d.]+L/);
  });

  it("counts an hour as the incident's when it overlaps the span", () => {
    const span = { start: T0 + 1.5 * HOUR, end: T0 + 3 * HOUR };
    expect([0, 1, 2, 3, 4].map((i) => inSpan(hour(i, 1), span))).toEqual([false, true, true, true, false]);
    expect(inSpan(hour(9, 1), { start: T0, end: Infinity })).toBe(true);
    expect(inSpan(hour(0, 1), null)).toBe(false);
  });

  it("shades the incident's span from first seen within its hour to the end, and mutes rises outside it", () => {
    const points = [hour(0, 9), hour(1, 1), hour(2, 1), hour(3, 9)];
    // 4 slots of 25: first seen at 01:30 is half way into the second; open, the span runs to the chart's end.
    const open = chartGeometry(points, 100, 72, 2, { start: T0 + 1.5 * HOUR, end: Infinity });
    expect(open.span).toBe("M37.5,0H100V72H37.5Z");
    expect(open.bars.map((b) => [b.above, b.elsewhere])).toEqual([[true, true], [false, false], [false, false],
                                                                  [true, false]]);
    // Resolved at 02:15: the span ends a quarter into the third slot; the rise at 03:00 is after it.
    const closed = chartGeometry(points, 100, 72, 2, { start: T0 + 1.5 * HOUR, end: T0 + 2.25 * HOUR });
    expect(closed.span).toBe("M37.5,0H56.25V72H37.5Z");
    expect(closed.bars.map((b) => b.elsewhere)).toEqual([true, false, false, true]);
    // Begun before the chart's first hour: shaded from its left edge. No span: nothing shaded, nothing muted.
    expect(chartGeometry(points, 100, 72, 2, { start: T0 - 9 * HOUR, end: Infinity }).span).toBe("M0,0H100V72H0Z");
    const none = chartGeometry(points, 100, 72, 2);
    expect(none.span).toBe("");
    expect(none.bars.some((b) => b.elsewhere)).toBe(false);
  });

  it("keeps the span at least 2 wide and inside the chart, even when first seen at the end of the last hour", () => {
    const g = chartGeometry([hour(0, 1), hour(1, 1)], 100, 72, 2, { start: T0 + 2 * HOUR - 1, end: Infinity });
    expect(g.span).toBe("M98,0H100V72H98Z");
  });

  it("draws the span behind everything as a path, so that the bars stay the chart's only rects", () => {
    const svg = volumeChart([hour(0, 9), hour(1, 1), hour(2, 9)], "Tickets per hour",
                            { start: T0 + 2 * HOUR, end: Infinity });
    expect(svg.firstElementChild?.getAttribute("class")).toBe("gs-chart-span");
    expect(svg.firstElementChild?.tagName).toBe("path");
    expect(svg.querySelectorAll("rect")).toHaveLength(3);
    expect([...svg.querySelectorAll("rect")].map((r) => r.getAttribute("class"))).toEqual([
      "gs-chart-bar gs-chart-bar-above gs-chart-bar-elsewhere", "gs-chart-bar", "gs-chart-bar gs-chart-bar-above"]);
    expect(volumeChart([hour(0, 9), hour(1, 1)], "Tickets per hour").querySelector(".gs-chart-span")).toBeNull();
  });
});
