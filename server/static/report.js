// Incidents page, report section: how detection went over the last weeks (GET /api/v1/incidents/report):
// incidents and people's verdicts per week as stacked bars, precision, time to respond and to resolve,
// and the series with the most incidents. Same token as the list; everything is rendered as text, with
// page.js's dates and counts.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var KIND_WORDS = { spike: ["spike", "spikes"], new_topic: ["new topic", "new topics"], drop: ["drop", "drops"],
                     sentiment: ["change of tone", "changes of tone"],
                     concentration: ["concentrated rise", "concentrated rises"],
                     friction: ["in-app friction", "in-app friction"] };
  var PARTS = [["useful", "useful"], ["noise", "noise"], ["unrated", "not rated"]];
  var RATED_FOR_SHARE = 5;  // verdicts before "Found real by people" is said as a percentage

  function minutes(m) {
    if (m === null || m === undefined) return "—";
    if (m < 90) return Math.round(m) + " min";
    if (m < 48 * 60) return (m / 60).toFixed(1) + " h";
    return (m / 1440).toFixed(1) + " days";
  }

  // "9 in 10 within" says something only over enough incidents: below 10, the nearest-rank 90th percentile
  // is the slowest one, and is said so.
  function spread(t) {
    var over = "median over " + t.count + (t.count === 1 ? " incident" : " incidents");
    if (t.count >= 10) return over + "; 9 in 10 within " + minutes(t.p90_minutes);
    return t.count > 1 ? over + "; the slowest " + minutes(t.p90_minutes) : over;
  }

  // Weeks start on Monday, UTC: shown as that day wherever the reader is, in full ("Nov 9, 2026") in
  // sentences and titles, as month and day under the chart's bars.
  function utcDay(iso) { return GS.day(iso, "UTC"); }
  function tick(iso) { return new Date(iso).toLocaleDateString([], { month: "short", day: "numeric", timeZone: "UTC" }); }
  var count = GS.count;

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // One stacked bar a week: useful, noise, then not rated, bottom up. The chart is drawn at the width it
  // has (at most 640 px), not scaled to it, so its 12 px labels stay 12 px on a phone; under the bars, as
  // many weeks' dates as fit without touching (the latest always), each bar's title naming its week.
  var TICK = 56;  // px a week's label needs, "Nov 30" at 12 px with room either side
  function chart(weeks, room) {
    var w = Math.round(Math.max(280, Math.min(640, room || 640))), h = 150, foot = 24, max = 1;
    weeks.forEach(function (x) { max = Math.max(max, x.incidents); });
    var pad = Math.max(24, 8 + 7 * count(max).length);
    var box = svg("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, "class": "report-chart", role: "img",
                           "aria-label": "incidents a week, by people's verdict" });
    var slot = (w - pad) / Math.max(1, weeks.length), bw = Math.max(3, Math.min(36, slot - 6));
    weeks.forEach(function (x, i) {
      var values = { useful: x.useful, noise: x.noise, unrated: x.incidents - x.useful - x.noise };
      var base = h - foot, left = pad + i * slot + (slot - bw) / 2;
      PARTS.forEach(function (p) {
        var v = values[p[0]];
        if (!v) return;
        var bh = (h - foot - 14) * v / max;
        base -= bh;
        var r = svg("rect", { "class": "bar " + p[0], x: left, y: base, width: bw, height: Math.max(bh, 1) });
        r.appendChild(svg("title", {}, "week from Monday " + utcDay(x.start) + ": " + count(v) + " " +
                                        p[1] + " of " + count(x.incidents)));
        box.appendChild(r);
      });
    });
    // from the latest week back, a date under each bar that is a label's width clear of the one after it,
    // all kept inside the chart (page.js)
    GS.ticks(weeks.length, function (i) { return pad + i * slot + slot / 2; }, w, TICK).forEach(function (t) {
      box.appendChild(svg("text", { x: t[1], y: h - 6, "text-anchor": "middle" }, tick(weeks[t[0]].start)));
    });
    box.appendChild(svg("line", { "class": "axis", x1: pad, x2: w, y1: h - foot, y2: h - foot }));
    box.appendChild(svg("text", { x: 2, y: 12 }, count(max)));
    var fig = GS.el("figure", "report-figure");
    fig.appendChild(box);
    var legend = GS.el("figcaption", "legend");
    PARTS.forEach(function (p) { legend.appendChild(GS.el("span", "key " + p[0], p[1])); });
    legend.appendChild(document.createTextNode(" · incidents detected a week (weeks from Monday, UTC)"));
    fig.appendChild(legend);
    return fig;
  }

  function figure(dl, term, value, hint) {
    var box = GS.el("div");
    box.appendChild(GS.el("dt", null, term));
    var dd = GS.el("dd", null, value);
    if (hint) dd.appendChild(GS.el("span", "hint", " " + hint));
    box.appendChild(dd);
    dl.appendChild(box);
  }

  // The last report drawn and the width it was drawn at: drawn again when its box gets wider or narrower
  // (a phone turned, a window resized, the page shown after the token was given).
  var shown = { report: null, width: 0 };

  function render(box, r) {
    shown.report = r;
    shown.width = box.clientWidth;
    var parts = [];
    var kinds = Object.keys(r.by_kind).map(function (k) {
      var n = r.by_kind[k], words = KIND_WORDS[k] || [k, k];
      return count(n) + " " + words[n === 1 ? 0 : 1];
    });
    parts.push(GS.el("p", "report-sentence", r.incidents === 0 ? "No incident was detected in this period." :
      count(r.incidents) + (r.incidents === 1 ? " incident" : " incidents") + " detected: " + kinds.join(", ") + "."));
    var dl = GS.el("dl", "report-figures");
    var f = r.feedback;
    // A share says something over enough verdicts: below RATED_FOR_SHARE, the verdicts themselves ("1 of 1").
    var rated = f.useful + f.noise;
    figure(dl, "Found real by people", f.precision === null || !rated ? "—" :
             rated < RATED_FOR_SHARE ? count(f.useful) + " of " + count(rated) : Math.round(f.precision * 100) + "%",
           count(f.useful) + " useful, " + count(f.noise) + " noise, " + count(f.unrated) + " not rated");
    figure(dl, "Time to respond", minutes(r.time_to_respond.median_minutes),
           r.time_to_respond.count ? spread(r.time_to_respond) : "nobody has acted on one yet");
    figure(dl, "Time to resolve", minutes(r.time_to_resolve.median_minutes),
           r.time_to_resolve.count ? spread(r.time_to_resolve) : "none resolved yet");
    var st = r.by_status;
    figure(dl, "Now", count(st.open || 0) + " open, " + count(st.acknowledged || 0) + " acknowledged",
           count(st.resolved || 0) + " resolved (" + count(r.merged) + " by merging), " + count(st.dismissed || 0) + " dismissed");
    parts.push(dl);
    parts.push(chart(r.weeks, box.clientWidth));
    if (r.top_series.length) {
      // On a phone's width (app.css, table.stack) each row is a block: where, then its counts named in a line.
      var table = GS.el("table", "report-series stack");
      var head = GS.el("tr"), thead = GS.el("thead"), body = GS.el("tbody");
      var columns = ["Incidents", "Useful", "Noise"];
      ["Where"].concat(columns).forEach(function (h) {
        var th = GS.el("th", null, h);
        th.scope = "col";
        head.appendChild(th);
      });
      thead.appendChild(head);
      table.appendChild(thead);
      r.top_series.forEach(function (s) {
        var tr = GS.el("tr");
        var th = GS.el("th", null, s.label);
        th.scope = "row";
        th.title = s.series;
        tr.appendChild(th);
        [s.incidents, s.useful, s.noise].forEach(function (v, i) {
          var td = GS.el("td", null, count(v));
          td.dataset.label = columns[i];
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      table.appendChild(body);
      parts.push(GS.el("h3", null, "Most incidents"));
      parts.push(table);
    }
    parts.push(GS.el("p", "hint", "Incidents detected from Monday " + utcDay(r.since) + " (00:00 UTC, the weeks' start) to " +
      GS.when(r.until) +
      ". Time to respond runs from detection to the first time a person acknowledged, resolved, dismissed or merged it; time to resolve, " +
      "to the resolution, for incidents resolved so far."));
    box.replaceChildren.apply(box, parts);
  }

  // Each load is numbered: an answer that arrives after a later load began (the period changed twice in a
  // row, a minute's refresh crossing a pick) is dropped, so the chart always shows the period picked last.
  var asked = 0;
  function load() {
    var box = document.getElementById("report-body");
    var pick = document.getElementById("report-weeks");
    if (!box || !pick || !GS.hasToken()) return;
    var mine = ++asked;
    // Whole weeks, Monday 00:00 UTC on: this week so far and the ones before it.
    var until = new Date(), monday = new Date(until.getTime());
    monday.setUTCHours(0, 0, 0, 0);
    monday.setUTCDate(monday.getUTCDate() - (monday.getUTCDay() + 6) % 7);
    var since = new Date(monday.getTime() - (Number(pick.value) - 1) * 7 * 86400000);
    GS.call("GET", "/api/v1/incidents/report?since=" + encodeURIComponent(since.toISOString()) +
                   "&until=" + encodeURIComponent(until.toISOString()))
      .then(function (r) {
        if (mine !== asked) return;
        document.getElementById("report").hidden = false;
        render(box, r);
      })
      .catch(function (err) {
        if (mine !== asked) return;
        box.textContent = "Could not load the report: " + err.message;
        document.getElementById("report").hidden = false;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var pick = document.getElementById("report-weeks");
    if (pick) pick.addEventListener("change", load);
    var box = document.getElementById("report-body");
    if (box && window.ResizeObserver) {
      new ResizeObserver(function () {
        if (shown.report && Math.abs(box.clientWidth - shown.width) > 8) render(box, shown.report);
      }).observe(box);
    }
    load();
    GS.onToken(load);
    document.addEventListener("gs-incident-changed", load);  // a person acted on an incident: its figures move
    setInterval(load, 60000);
  });
})();
