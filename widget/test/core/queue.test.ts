import { describe, expect, it } from "vitest";
import { createQueue } from "../../src/core/queue";
import type { WidgetEvent } from "../../src/core/types";

const ev = (i: number): WidgetEvent => ({ id: "e" + i, type: "click", ts: i, url: "https://a.test/" });

describe("queue", () => {
  it("is bounded: the oldest events are dropped and counted", () => {
    const q = createQueue(3);
    for (let i = 0; i < 5; i++) q.push("s", ev(i));
    expect(q.size()).toBe(3);
    expect(q.take(10, 1e6).map((x) => x.e.id)).toEqual(["e2", "e3", "e4"]);
    expect(q.takeDrops()).toEqual({ queue_full: 2 });
    expect(q.takeDrops()).toEqual({});
  });

  it("takes one session's events at a time, within a count and byte limit", () => {
    const q = createQueue(10);
    q.push("a", ev(1));
    q.push("b", ev(2));
    q.push("a", ev(3));
    q.push("a", ev(4));
    expect(q.take(2, 1e6).map((x) => x.e.id)).toEqual(["e1", "e3"]);
    expect(q.take(10, 10).map((x) => x.e.id)).toEqual(["e2"]); // at least one, even past the byte limit
    expect(q.size()).toBe(1);
  });

  it("saves to and loads from storage, ignoring garbage", () => {
    const q = createQueue(10);
    q.push("a", ev(1));
    q.save(localStorage, "k");
    const r = createQueue(10);
    r.load(localStorage, "k");
    expect(r.take(5, 1e6)[0].e.id).toBe("e1");
    expect(localStorage.getItem("k")).toBeNull();
    localStorage.setItem("k", '[{"s":1},null,"x"]');
    r.load(localStorage, "k");
    expect(r.size()).toBe(0);
  });
});
