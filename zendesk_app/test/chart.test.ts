import { describe, expect, it } from "vitest";
import { chartGeometry, volumeChart } from "../src/chart";
import type { VolumePoint } from "../src/model";

const p = (tickets: number, band: [number, number] | null = [0, 4], expected: number | null = 2): VolumePoint => ({
  start: "2026-11-23T00:00:00Z", tickets, expected, lower: band ? band[0] : null, upper: band ? band[1] : null,
});

describe("chart geometry", () => {
  it("scales bars to the largest of tickets, band and expectation, with 10% headroom", () => {
    const g = chartGeometry([p(1), p(10)], 200, 112, 1);
    expect(g.yMax).toBe(11);
    // plot height 110: 10 tickets of 11 -> 100 px high, from y = 111 - 100 = 11
    expect(g.bars[1]).toEqual({ x: 115, y: 11, width: 70, height: 100, above: true, partial: false });
    expect(g.bars[0]).toEqual({ x: 15, y: 101, width: 70, height: 10, above: false, partial: false });
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
});
