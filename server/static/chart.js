// The incidents page's chart (server/static/incidents.js draws it in an incident's detail): an incident's hourly
// volume as SVG bars against its baseline's usual range, with its legend and what the colours mean. Every value
// from the API is written as an SVG attribute or with textContent, never parsed as HTML. Needs page.js first.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var SIGNAL_NOUNS = GS.SIGNAL_NOUNS, num = GS.num, el = GS.el, when = GS.when, clock = GS.clock;

  function $(id) { return document.getElementById(id); }

  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }

  // What a chart counts: tickets and customers, or, for friction, the page's events and sessions; and which of
  // the two its baseline (expected, band) is of: a topic's customers (the engine counts a topic's distinct
  // requesters, one customer writing three times is one), or the bars' count (a channel's, form's or all
  // tickets; a page's events).
  function units(inc) {
    var topic = /^topic:/.test(String(inc.series || ""));
    if (inc.kind !== "friction") return { bars: "tickets", line: "customers", band: topic ? "line" : "bars" };
    var sig = (inc.evidence || {}).signal;
    return { bars: SIGNAL_NOUNS[sig] || String(sig || "friction events").replace(/_/g, " "), line: "sessions",
             band: "bars" };
  }

  // How a friction incident's figures were judged: against the visitors of their hour (visitors > 0: the
  // expectation is what that many visitors usually bring, 0: an hour's usual count), and whether that hour is
  // still open (soFar: the counts and the expectation are so far, and grow with the visitors). The evidence
  // says so per signal (so_far); evidence without it is of the open hour when the chart's hour so far is the
  // evidence's hour. Null for other kinds.
  function judged(inc) {
    if (inc.kind !== "friction") return null;
    var ev = inc.evidence || {}, points = inc.volume || [], last = points[points.length - 1];
    var sig = (Array.isArray(ev.signals) ? ev.signals : []).filter(function (x) {
      return x && x.signal === ev.signal;
    })[0] || {};
    var soFar = typeof sig.so_far === "boolean" ? sig.so_far
      : !!last && !!last.partial && Date.parse(last.start) === Date.parse(ev.counts_hour_at || ev.window_start_at || "");
    return { visitors: typeof sig.visitors === "number" && sig.visitors > 0 ? sig.visitors : 0, soFar: soFar };
  }

  // Whether the chart's open hour expects what its visitors so far usually bring (a friction series judged per
  // visitor), not a whole hour's count: then it is drawn and named as "expected so far".
  function expectedSoFar(inc) {
    var j = judged(inc);
    return !!j && j.visitors > 0;
  }

  // The count of an hour its baseline is of (see units).
  function measured(p, u) { return u.band === "line" ? p.requesters : p.tickets; }

  // The chart is drawn at the width it is shown at (its viewBox is the box's width in CSS pixels), so its
  // text is FONT px on a phone as on a wide screen; labels are measured with the page's font to place them.
  var FONT = 12, MIN_OPEN = 14, HOUR = 3600000;
  var measurer = null;

  function textWidth(text) {
    if (measurer === null) measurer = document.createElement("canvas").getContext("2d") || false;
    if (!measurer) return String(text).length * FONT * 0.62;
    measurer.font = FONT + "px " + getComputedStyle(document.body).fontFamily;
    return measurer.measureText(String(text)).width;
  }

  function chartWidth() {
    var box = $("incident-detail"), style = getComputedStyle(box);
    var inner = box.clientWidth - parseFloat(style.paddingLeft || 0) - parseFloat(style.paddingRight || 0);
    return Math.round(Math.max(280, Math.min(1000, inner > 0 ? inner : 760)));
  }

  // First seen, detected and resolved, those inside the chart's hours.
  function markers(inc) {
    var points = inc.volume, t0 = Date.parse(points[0].start), t1 = Date.parse(points[points.length - 1].start) + HOUR;
    return [["first seen", inc.first_seen_at, "first-seen"], ["detected", inc.detected_at, "detected"],
            ["resolved", inc.resolved_at, "resolved"]].filter(function (m) {
      var t = Date.parse(m[1] || "");
      return t >= t0 && t <= t1;
    }).map(function (m) { return { label: m[0], t: Date.parse(m[1]), cls: m[2] }; });
  }

  // Where each marker's label goes: in a row above the bars, beside its line (right of it, else left), never
  // over another label, across another marker's line or past the chart's edges. Rows fill from the top; the
  // orders tried are right to left then left to right, and the one needing fewer rows wins. A label with no
  // room is left out (the legend names every marker).
  function placeLabels(marks, w) {
    function attempt(order) {
      var placed = [];
      order.forEach(function (m) {
        var tw = textWidth(m.label);
        for (var row = 0; row < 3; row++) {
          var spans = [[m.x + 4, m.x + 4 + tw, "start"], [m.x - 4 - tw, m.x - 4, "end"]];
          for (var k = 0; k < spans.length; k++) {
            var a = spans[k][0], b = spans[k][1];
            if (a < 2 || b > w - 2) continue;
            var clash = placed.some(function (p) {
              return (p.row === row && a < p.b + 6 && b > p.a - 6) ||  // another label in this row
                (p.row <= row && p.x > a - 3 && p.x < b + 3) ||       // another line through this label
                (p.row >= row && m.x > p.a - 3 && m.x < p.b + 3);     // this line through another label
            });
            if (!clash) {
              placed.push({ m: m, x: m.x, row: row, a: a, b: b, anchor: spans[k][2] });
              return;
            }
          }
        }
      });
      return placed;
    }
    var byX = marks.slice().sort(function (p, q) { return q.x - p.x; });
    return [attempt(byX), attempt(byX.slice().reverse())].sort(function (p, q) {
      function rows(list) { return Math.max.apply(null, [0].concat(list.map(function (l) { return l.row + 1; }))); }
      return (q.length - p.length) || (rows(p) - rows(q));
    })[0];
  }

  // Axis ticks at whole hours of the reader's zone, a step that leaves room for each label: the time, or at
  // midnight the day; never past `end` (now: the open hour has not ended).
  function timeTicks(t0, end, pxPerHour) {
    var sampleTime = clock(new Date(2026, 0, 1, 23, 0));
    var sampleDay = new Date(2026, 11, 28).toLocaleDateString([], { month: "short", day: "numeric" });
    var room = Math.max(textWidth(sampleTime), textWidth(sampleDay)) + 18;
    var steps = [1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720];
    var step = steps.filter(function (s) { return s * pxPerHour >= room; })[0] || 1440;
    var out = [], day = 0;
    for (var t = Math.ceil(t0 / 900000) * 900000; t <= end; t += 900000) {
      var d = new Date(t);
      if (d.getMinutes() !== 0) continue;
      var midnight = d.getHours() === 0;
      if (step < 24 ? d.getHours() % step !== 0 : !midnight || day++ % (step / 24) !== 0) continue;
      out.push({ t: t, text: midnight ? d.toLocaleDateString([], { month: "short", day: "numeric" })
                                      : clock(t) });
    }
    return out;
  }

  // Drawn for its box's width: a window resized (a phone turned) draws the shown chart again.
  var drawn = null, resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      var shown = document.querySelector("#incident-detail svg.incident-chart");
      if (shown && drawn && Math.abs(chartWidth() - drawn.width) > 2) shown.replaceWith(chart(drawn.inc));
    }, 150);
  });

  // "over" or "under" for an hour outside its band, by the count the band is of; "" inside it. The open hour
  // is never under: it is not over yet.
  function outside(p, u) {
    var n = measured(p, u);
    return n > p.upper ? "over" : n < p.lower && !p.partial ? "under" : "";
  }

  // Resolving an incident whose last hours are still above their usual range is taken back by the detector
  // (it reopens the incident while the rise goes on): the first click on Resolve says why, once, under the
  // actions (and on the page's status line), and turns the button into "Resolve anyway", which resolves. Null
  // when the latest closed hour and the hour so far are within their range.
  function stillHigh(inc) {
    var points = inc.volume || [];
    if (!points.length) return null;
    var u = units(inc);
    var high = points.slice(-2).filter(function (p) { return outside(p, u) === "over"; }).pop();
    if (!high) return null;
    return "Still above its usual range (" + num(measured(high, u)) + " " + u[u.band] +
      (high.partial ? " this hour so far" : " in the hour from " + clock(high.start)) +
      "): it reopens if this goes on.";
  }

  // [first seen, resolved] in ms, the end open (Infinity: through the hour so far) while it is not resolved;
  // null without a first-seen time.
  function incidentSpan(inc) {
    var a = Date.parse(inc.first_seen_at || "");
    if (isNaN(a)) return null;
    var b = Date.parse(inc.resolved_at || "");
    return [a, isNaN(b) ? Infinity : Math.max(a, b)];
  }
  function inSpan(p, span) {
    var a = Date.parse(p.start);
    return !!span && a + HOUR > span[0] && a <= span[1];
  }

  function chart(inc) {
    var points = inc.volume;
    var u = units(inc);
    var last = points[points.length - 1];
    var soFar = !!last.partial && expectedSoFar(inc);
    var max = 1;
    points.forEach(function (p) { max = Math.max(max, p.tickets, p.requesters, p.upper, p.expected); });
    var w = chartWidth(), h = 220, left = Math.max(20, Math.ceil(textWidth(num(max))) + 8), right = 6, bottom = FONT + 14;
    var box = svg("svg", { "class": "incident-chart", viewBox: "0 0 " + w + " " + h, role: "img" });
    drawn = { inc: inc, width: w };
    // The open hour (last, partial) is at least MIN_OPEN wide, so the rise shows however long the history is;
    // the closed hours share the rest.
    var t0 = Date.parse(points[0].start), t1 = Date.parse(last.start) + HOUR;
    var tOpen = last.partial ? Date.parse(last.start) : t1;
    var plot = w - left - right;
    var openW = last.partial ? Math.min(plot, Math.max(plot * HOUR / (t1 - t0), MIN_OPEN)) : 0;
    function x(t) {
      if (t <= tOpen) return left + (plot - openW) * (tOpen > t0 ? (t - t0) / (tOpen - t0) : 0);
      return left + plot - openW + openW * Math.min(1, (t - tOpen) / HOUR);
    }
    var measure = u[u.band];
    box.setAttribute("aria-label", "Hourly " + measure + " from " + when(t0) + " to " + when(Date.parse(last.start)) +
      " against their usual range; peak " + num(max) + ".");
    var desc = svg("desc");
    desc.textContent = "Bars: " + u.bars + " per hour. Line: distinct " + u.line + " per hour. Shaded: usual range of " +
      measure + " per hour; dashed: expected " + measure + ".";
    box.appendChild(desc);

    // The markers' labels take rows above the bars: the plot starts below them.
    var marks = markers(inc).map(function (m) { m.x = x(m.t); return m; });
    var labels = placeLabels(marks, w);
    var rows = Math.max.apply(null, [0].concat(labels.map(function (l) { return l.row + 1; })));
    function rowY(r) { return 4 + FONT + r * (FONT + 4); }
    var top = rows ? rowY(rows - 1) + 8 : 10;
    function y(v) { return top + (h - top - bottom) * (1 - v / max); }

    // The incident's own hours, from first seen to its resolution (or now), shaded behind everything: the
    // part of the chart it is about, however narrow it is beside two days of history.
    var span = incidentSpan(inc);
    if (span) {
      var sx = x(Math.max(t0, span[0])), ex = x(Math.min(t1, span[1]));
      box.appendChild(svg("rect", { "class": "incident-span", x: sx, y: top, width: Math.max(2, ex - sx),
                                    height: y(0) - top }));
    }

    // Baseline band: upper edge left to right, lower edge back.
    var band = points.map(function (p) { return [x(Date.parse(p.start) + HOUR / 2), y(p.upper)]; })
      .concat(points.slice().reverse().map(function (p) { return [x(Date.parse(p.start) + HOUR / 2), y(p.lower)]; }));
    box.appendChild(svg("polygon", { "class": "band", points: band.map(function (q) { return q.join(","); }).join(" ") }));

    points.forEach(function (p) {
      var px = x(Date.parse(p.start)), pw = x(Date.parse(p.start) + HOUR) - px;
      // Above or below its band by what the band is of (a topic's customers); the open hour (partial) is drawn
      // hollow, and under its band is no drop yet: the hour is not over.
      // An hour outside its band before (or after) the incident is another matter: drawn muted, so the
      // incident's own hours stand out.
      var cls = outside(p, u);
      cls = cls ? " " + cls + (inSpan(p, span) ? "" : " elsewhere") : "";
      var r = svg("rect", { "class": "bar" + cls + (p.partial ? " partial" : ""),
        x: px + (pw > 4 ? 1 : 0), y: y(p.tickets), width: Math.max(1, pw > 4 ? pw - 2 : pw), height: y(0) - y(p.tickets) });
      var title = svg("title");
      var asOf = p.as_of ? clock(p.as_of) : "—";
      title.textContent = when(p.start) + (p.partial ? " (this hour so far, until " + asOf + ")" : "") +
        ": " + p.tickets + " " + u.bars + ", " + p.requesters + " " + u.line + "; expected " + num(p.expected) + " " +
        measure + (p.partial ? (soFar ? " so far, from the hour's visitors until then" : " in the whole hour") : "") +
        " (usual range " + num(p.lower) + "–" + num(p.upper) + ")";
      r.appendChild(title);
      box.appendChild(r);
    });

    function line(cls, key, from) {
      return svg("polyline", { "class": cls, points: (from || points).map(function (p) {
        return x(Date.parse(p.start) + HOUR / 2) + "," + y(p[key]);
      }).join(" ") });
    }
    if (soFar) {
      // The open hour expects what its visitors so far bring: a mark of its own across its bar, named, not the
      // whole hours' line diving to it.
      box.appendChild(line("expected", "expected", points.slice(0, -1)));
      var ox = x(tOpen), mark = svg("line", { "class": "expected so-far", x1: ox, x2: x(t1), y1: y(last.expected),
                                               y2: y(last.expected) });
      var markTitle = svg("title");
      markTitle.textContent = "expected so far: " + num(last.expected) + " " + measure + " from this hour's visitors until " +
        (last.as_of ? clock(last.as_of) : "now");
      mark.appendChild(markTitle);
      box.appendChild(mark);
    } else {
      box.appendChild(line("expected", "expected"));
    }
    box.appendChild(line("requesters", "requesters"));

    box.appendChild(svg("line", { "class": "axis", x1: left, x2: w - right, y1: y(0), y2: y(0) }));
    [[max, num(max)], [0, "0"]].forEach(function (a) {
      var t = svg("text", { "class": "value", x: left - 6, y: y(a[0]) + FONT / 3, "text-anchor": "end" });
      t.textContent = a[1];
      box.appendChild(t);
    });
    // Hours along the bottom, each label whole inside the chart; the last no later than now.
    var lastRight = -Infinity;
    timeTicks(t0, Math.min(t1, Date.now()), (plot - openW) * HOUR / Math.max(HOUR, tOpen - t0)).forEach(function (k) {
      var tx = x(k.t), half = textWidth(k.text) / 2;
      if (tx - half < 0 || tx + half > w || tx - half < lastRight + 8) return;
      lastRight = tx + half;
      box.appendChild(svg("line", { "class": "tick", x1: tx, x2: tx, y1: y(0), y2: y(0) + 4 }));
      var t = svg("text", { "class": "hour", x: tx, y: h - 6, "text-anchor": "middle" });
      t.textContent = k.text;
      box.appendChild(t);
    });

    marks.forEach(function (m) {
      var at = labels.filter(function (l) { return l.m === m; })[0];
      box.appendChild(svg("line", { "class": "marker " + m.cls, x1: m.x, x2: m.x, y1: at ? rowY(at.row) - FONT + 2 : top,
                                    y2: y(0) }));
      if (!at) return;
      var label = svg("text", { "class": "marker " + m.cls, x: at.anchor === "start" ? at.a : at.b, y: rowY(at.row),
                                "text-anchor": at.anchor });
      label.textContent = m.label;
      box.appendChild(label);
    });
    return box;
  }

  function legend(inc, u) {
    var p = el("p", "legend");
    var measure = u[u.band];
    var items = [["swatch bar", u.bars + " per hour"], ["swatch requesters", u.line + " per hour"],
     ["swatch band", "usual range of " + measure + " per hour"], ["swatch expected", "expected " + measure + " per hour"]];
    var span = incidentSpan(inc);
    if (span) items.unshift(["swatch incident-span", "this incident"]);
    var sides = inc.volume.map(function (q) { return outside(q, u) + (inSpan(q, span) ? "" : " elsewhere"); });
    if (sides.indexOf("over") >= 0) items.push(["swatch bar over", "above the usual range"]);
    if (sides.indexOf("under") >= 0) items.push(["swatch bar under", "below the usual range"]);
    if (sides.indexOf("over elsewhere") >= 0 || sides.indexOf("under elsewhere") >= 0) {
      items.push(["swatch bar over elsewhere", "outside the usual range at another time"]);
    }
    if (inc.volume.some(function (q) { return q.partial; })) {
      items.push(["swatch bar partial", "this hour so far"]);
      if (expectedSoFar(inc)) items.push(["swatch expected so-far", "expected so far, from this hour's visitors"]);
    }
    markers(inc).forEach(function (m) { items.push(["swatch marker " + m.cls, m.label + " " + when(m.t)]); });
    items.forEach(function (s) {
      var item = el("span", "legend-item");
      item.appendChild(el("span", s[0]));
      item.appendChild(document.createTextNode(s[1]));
      p.appendChild(item);
    });
    return p;
  }

  // What the colours mean for alerting, and how the chart's hours differ from the evidence's window: an hour
  // outside its usual range (a 99% band: an ordinary hour passes an edge about once in 200) is unusual for that
  // hour, but an incident opens only when a rise (or a drop) passes the tenant's alarm threshold, which the
  // detection settings derive from the false alarms a week they allow over every series and window.
  function chartNote(inc, u) {
    var ev = inc.evidence || {}, measure = u[u.band];
    var drop = inc.kind === "drop";
    var text = (drop ? "A bar below the usual range is an hour with fewer " : "A bar above the usual range is an hour " +
      "with more ") + measure + " than usual for it: unusual (an ordinary hour does that about once in 200), but an " +
      "incident opens only when " + (drop ? "a drop" : "a rise") + " passes this tenant's alarm threshold (see " +
      "Detection settings), so such an hour on another day may have opened none.";
    var span = windowSpan(ev);
    if (span && ev.measure && inc.kind !== "friction" && inc.kind !== "sentiment") {
      text += " The evidence counts " + ev.measure + " in its most unusual " + span + ", not per hour.";
    }
    return el("p", "hint chart-note", text);
  }

  // The evidence's window in words ("30 min", "2 h"); empty when it has none.
  function windowSpan(ev) {
    var minutes = ev.window_minutes;
    if (typeof minutes !== "number" || !minutes) return "";
    return minutes >= 120 && minutes % 60 === 0 ? minutes / 60 + " h" : minutes + " min";
  }

  window.GS.chart = { draw: chart, legend: legend, note: chartNote, units: units, stillHigh: stillHigh,
                      windowSpan: windowSpan, judged: judged };
})();
