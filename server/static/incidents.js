// Incidents page: lists incidents from /api/v1/incidents with the tenant's token, shows one with its
// evidence and an SVG chart of its hourly volume against the baseline band, and changes status or
// records feedback. Every value from the API is written with textContent or as an SVG attribute,
// never parsed as HTML.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var KEY = "groundswell.token";
  var BY_KEY = "groundswell.by";
  var REFRESH_MS = 15000;
  var FILTERS = { active: "open,acknowledged", resolved: "resolved", dismissed: "dismissed", all: "" };
  var EMPTY = { active: "No active incidents. All quiet.", resolved: "No resolved incidents yet.",
                dismissed: "No dismissed incidents.", all: "No incidents yet." };
  var KIND_LABELS = { spike: "Spike", new_topic: "New topic", drop: "Drop", sentiment: "Sentiment",
                      concentration: "Concentration", friction: "Friction" };
  // How people read each friction signal (as server/widget/features.py SIGNAL_NOUNS).
  var SIGNAL_NOUNS = { failed_request: "failed requests", rage_click: "rage clicks", dead_click: "dead clicks",
                       error_click: "error clicks", js_error: "JavaScript errors", form_error: "rejected form submits",
                       form_abandon: "abandoned flows" };

  // The transitions the API allows (server/incidents/service.py TRANSITIONS), as buttons.
  var ACTIONS = [
    { status: "acknowledged", label: "Acknowledge", from: ["open"] },
    { status: "resolved", label: "Resolve", from: ["open", "acknowledged"] },
    { status: "dismissed", label: "Dismiss", from: ["open", "acknowledged"], cls: "secondary" },
    { status: "open", label: "Reopen", from: ["acknowledged", "resolved", "dismissed"], cls: "secondary" }
  ];
  var DONE = { acknowledged: "Acknowledged", resolved: "Resolved", dismissed: "Dismissed", open: "Reopened" };

  var state = { filter: "active", kind: "", q: "", selected: null, timer: null, busy: false, opened: false };

  // --- small helpers ---------------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }

  var when = GS.when;  // page.js (loaded first): the reader's zone and locale, to the minute

  // The detector writes a sentence's clocks in UTC ("first seen 23:04 UTC", "in the hour from 14:00 UTC");
  // the page shows every other time in the reader's zone, so those clocks are shown in it too: each is the
  // moment with that clock nearest the incident's first-seen time (page.js clocks).
  function localSentence(inc) {
    return GS.clocks(inc.sentence || "", inc.first_seen_at, function (at) {
      return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    });
  }

  function num(n) {
    if (n === null || n === undefined || n === "") return "—";
    if (typeof n !== "number") return String(n);
    if (n !== 0 && Math.abs(n) < 0.001) return n.toExponential(2);
    return (Math.round(n * 100) / 100).toLocaleString();
  }

  // A series as people say it: "this topic", "the email channel", "/invoices (failed requests)".
  function seriesWords(series) {
    var m = /^page:(.*):([a-z_]+)$/.exec(series);
    if (m) return m[1] + " (" + (SIGNAL_NOUNS[m[2]] || m[2].replace(/_/g, " ")) + ")";
    if (series.indexOf("topic:") === 0) return "this topic";
    if (series.indexOf("channel:") === 0) return "the " + series.slice(8) + " channel";
    if (series.indexOf("form:") === 0) return "form " + series.slice(5);
    return series.replace(":", " ");
  }

  function counted(n, noun) {
    return num(n) + " " + noun + (n === 1 ? "" : "s");
  }

  function showError(msg) {
    var e = $("error");
    e.textContent = msg || "";
    e.hidden = !msg;
  }

  // --- token and hash --------------------------------------------------------------------------
  function readHash() {
    var hash = location.hash.replace(/^#/, "");
    var params = {};
    hash.split("&").forEach(function (part) {
      var i = part.indexOf("=");
      if (i > 0) params[part.slice(0, i)] = decodeURIComponent(part.slice(i + 1));
    });
    if (params.token) {
      sessionStorage.setItem(KEY, params.token);
      var rest = params.id ? "#id=" + encodeURIComponent(params.id) : "";
      history.replaceState(null, "", location.pathname + location.search + rest);
    }
    var id = parseInt(params.id, 10);
    return id > 0 ? id : null;
  }

  // --- API -------------------------------------------------------------------------------------
  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ Authorization: "Bearer " + sessionStorage.getItem(KEY) }, options.headers || {});
    return fetch(path, options).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (r.status === 401) {
          sessionStorage.removeItem(KEY);
          $("login").hidden = false;
          $("incidents-app").hidden = true;
          var why = $("login-error");
          var said = String(body && body.error && body.error.message || "401 Unauthorized").replace(/\.$/, "");
          why.textContent = "That API token was not accepted: " + said + ". Paste the tenant's token (gs_sk_…) again.";
          why.hidden = false;
        }
        if (!r.ok) {
          var err = body && body.error;
          var msg = err && err.message ? err.message : "The server answered " + r.status + ".";
          if (err && err.fields) {
            msg += " " + Object.keys(err.fields).map(function (k) {
              var v = err.fields[k];
              return k + ": " + (Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v);
            }).join("; ");
          }
          throw new Error(msg);
        }
        return body;
      });
    });
  }

  function send(method, path, body) {
    return api(path, { method: method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  // --- list ------------------------------------------------------------------------------------
  function badge(kind) {
    return el("span", "badge kind-" + String(kind).replace(/[^a-z_]/g, ""), KIND_LABELS[kind] || kind);
  }

  function statusTag(status) {
    return el("span", "status status-" + String(status).replace(/[^a-z]/g, ""), status);
  }

  function renderList(data) {
    var list = $("incident-list");
    list.replaceChildren();
    var stateLine = $("list-state");
    if (!data.incidents.length && state.q) {
      stateLine.textContent = "No incidents here match “" + state.q + "”.";
      stateLine.hidden = false;
      return;
    }
    if (!data.incidents.length) {
      stateLine.textContent = state.kind ? EMPTY[state.filter].replace(/incidents/, (KIND_LABELS[state.kind] || state.kind).toLowerCase() +
        " incidents").replace(/ All quiet\.$/, "") : EMPTY[state.filter];
      stateLine.hidden = false;
      return;
    }
    stateLine.hidden = data.total <= data.incidents.length;
    stateLine.textContent = "Showing the " + data.incidents.length + " most recent of " + data.total + ".";
    data.incidents.forEach(function (inc) {
      var li = el("li");
      var b = el("button", "incident-item");
      b.type = "button";
      b.dataset.id = String(inc.id);
      if (inc.id === state.selected) b.setAttribute("aria-current", "true");
      var head = el("span", "item-head");
      head.appendChild(badge(inc.kind));
      head.appendChild(statusTag(inc.status));
      head.appendChild(el("span", "item-id", "#" + inc.id));
      b.appendChild(head);
      b.appendChild(el("strong", "item-title", inc.title));
      b.appendChild(el("span", "item-sentence", localSentence(inc)));
      var who = inc.kind === "friction" ?  // in-app friction: the page's sessions, no tickets or accounts
        counted((inc.evidence || {}).sessions, "session") + " · " + counted(inc.requester_count, "signed-in user") + " · " :
        counted(inc.ticket_count, "ticket") + " · " + counted(inc.requester_count, "customer") + " · " +
        counted(inc.account_count, "account") + " · ";
      b.appendChild(el("span", "item-meta", who + "first seen " + when(inc.first_seen_at) + " · detected " +
        when(inc.detected_at)));
      b.addEventListener("click", function () { select(inc.id); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function filters() {  // the list's filters as a query string (after "?")
    var status = FILTERS[state.filter];
    return (status ? "status=" + status : "") + (state.kind ? "&kind=" + encodeURIComponent(state.kind) : "") +
      (state.q ? "&q=" + encodeURIComponent(state.q) : "");
  }

  function exportCsv() {  // fetched with the token, then saved through a blob link
    var button = $("export");
    button.disabled = true;
    fetch("/api/v1/incidents/export?" + filters(), {
      headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) }
    }).then(function (r) {
      if (!r.ok) throw new Error("The export failed: the server answered " + r.status + ".");
      var name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
      return r.blob().then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = name ? name[1] : "groundswell-incidents.csv";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
      });
    }).catch(function (e) { showError(e.message); }).then(function () { button.disabled = false; });
  }

  function loadList() {
    var seq = state.listSeq = (state.listSeq || 0) + 1;
    return api("/api/v1/incidents?limit=100&" + filters()).then(function (data) {
      if (seq !== state.listSeq) return;  // the filters changed while it loaded: a newer answer is coming
      renderList(data);
      // After a change of search, kind or tab, an open incident the list no longer shows is closed (it would
      // sit beside "no incidents match"); on a plain refresh, or opened by its link, it stays. A list cut at
      // its first 100 may just not reach it: then it stays too.
      if (state.filtersChanged && state.selected && data.total <= data.incidents.length &&
          !data.incidents.some(function (inc) { return inc.id === state.selected; })) {
        history.replaceState(null, "", location.pathname + location.search);
        show(null, false);
      }
      state.filtersChanged = false;
      $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
      // Side by side (wide screens), the newest incident opens beside the list the first time there is one,
      // rather than an empty pane; on a narrow screen the list stays first. Closing it is respected.
      if (!state.opened && !state.selected && data.incidents.length &&
          window.matchMedia("(min-width: 861px)").matches) {
        state.opened = true;
        show(data.incidents[0].id, false);
      }
    });
  }

  // --- chart -----------------------------------------------------------------------------------
  // What a chart counts: tickets and customers, or, for friction, the page's events and sessions.
  function units(inc) {
    if (inc.kind !== "friction") return { bars: "tickets", line: "customers" };
    var sig = (inc.evidence || {}).signal;
    return { bars: SIGNAL_NOUNS[sig] || String(sig || "friction events").replace(/_/g, " "), line: "sessions" };
  }

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

  // A time as people read it, in their zone and words, without seconds ("Dec 4, 2:00 PM").
  function hourWords(t) {
    return new Date(t).toLocaleString([], { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
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
    var sampleTime = new Date(2026, 0, 1, 23, 0).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
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
                                      : d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" }) });
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

  function chart(inc) {
    var points = inc.volume;
    var u = units(inc);
    var last = points[points.length - 1];
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
    var measure = inc.kind === "drop" || inc.kind === "friction" ? u.bars : "requesters";
    box.setAttribute("aria-label", "Hourly " + measure + " from " + hourWords(t0) + " to " +
      hourWords(Date.parse(last.start)) + " against the expected band; peak " + num(max) + ".");
    var desc = svg("desc");
    desc.textContent = "Bars: " + u.bars + " per hour. Line: distinct " + u.line +
      ". Shaded: baseline band; dashed: expected.";
    box.appendChild(desc);

    // The markers' labels take rows above the bars: the plot starts below them.
    var marks = markers(inc).map(function (m) { m.x = x(m.t); return m; });
    var labels = placeLabels(marks, w);
    var rows = Math.max.apply(null, [0].concat(labels.map(function (l) { return l.row + 1; })));
    function rowY(r) { return 4 + FONT + r * (FONT + 4); }
    var top = rows ? rowY(rows - 1) + 8 : 10;
    function y(v) { return top + (h - top - bottom) * (1 - v / max); }

    // Baseline band: upper edge left to right, lower edge back.
    var band = points.map(function (p) { return [x(Date.parse(p.start) + HOUR / 2), y(p.upper)]; })
      .concat(points.slice().reverse().map(function (p) { return [x(Date.parse(p.start) + HOUR / 2), y(p.lower)]; }));
    box.appendChild(svg("polygon", { "class": "band", points: band.map(function (q) { return q.join(","); }).join(" ") }));

    points.forEach(function (p) {
      var px = x(Date.parse(p.start)), pw = x(Date.parse(p.start) + HOUR) - px;
      // The open hour (partial) is drawn hollow; under its band is no drop yet, the hour is not over.
      var cls = p.tickets > p.upper ? " over" : p.tickets < p.lower && !p.partial ? " under" : "";
      var r = svg("rect", { "class": "bar" + cls + (p.partial ? " partial" : ""),
        x: px + (pw > 4 ? 1 : 0), y: y(p.tickets), width: Math.max(1, pw > 4 ? pw - 2 : pw), height: y(0) - y(p.tickets) });
      var title = svg("title");
      var asOf = p.as_of ? hourWords(Date.parse(p.as_of)) : "—";
      title.textContent = hourWords(Date.parse(p.start)) + (p.partial ? " (this hour so far, until " + asOf + ")" : "") +
        ": " + p.tickets + " " + u.bars + ", " + p.requesters + " " + u.line + "; expected " +
        num(p.expected) + (p.partial ? " in the whole hour" : "") + " (" + num(p.lower) + "–" + num(p.upper) + ")";
      r.appendChild(title);
      box.appendChild(r);
    });

    function line(cls, key) {
      return svg("polyline", { "class": cls, points: points.map(function (p) {
        return x(Date.parse(p.start) + HOUR / 2) + "," + y(p[key]);
      }).join(" ") });
    }
    box.appendChild(line("expected", "expected"));
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
    var items = [["swatch bar", u.bars + " per hour"], ["swatch requesters", u.line + " per hour"],
     ["swatch band", "expected band"], ["swatch expected", "expected"]];
    if (inc.volume.some(function (q) { return q.partial; })) items.push(["swatch bar partial", "this hour so far"]);
    markers(inc).forEach(function (m) { items.push(["swatch marker " + m.cls, m.label + " " + hourWords(m.t)]); });
    items.forEach(function (s) {
      var item = el("span", "legend-item");
      item.appendChild(el("span", s[0]));
      item.appendChild(document.createTextNode(s[1]));
      p.appendChild(item);
    });
    return p;
  }

  // --- detail ----------------------------------------------------------------------------------
  function term(dl, name, value) {
    if (value === null || value === undefined || value === "") return;
    dl.appendChild(el("dt", null, name));
    var dd = el("dd");
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    dl.appendChild(dd);
  }

  // The incident's tickets, each a link into the tenant's Zendesk when its address is known.
  function ticketIds(inc) {
    var p = el("p", "ticket-ids");
    if (!inc.ticket_ids.length) { p.textContent = "None attached."; return p; }
    var base = typeof inc.zendesk_url === "string" && /^https:\/\/[a-z0-9-]+\.zendesk\.com$/.test(inc.zendesk_url)
      ? inc.zendesk_url : null;
    inc.ticket_ids.forEach(function (t, i) {
      if (i) p.appendChild(document.createTextNode(" "));
      if (base && /^[0-9]{1,20}$/.test(String(t))) {
        var a = el("a", null, "#" + t);
        a.href = base + "/agent/tickets/" + t;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        p.appendChild(a);
      } else {
        p.appendChild(document.createTextNode("#" + t));
      }
    });
    return p;
  }

  // How unlikely a rise this size is by chance, in words ("Far beyond chance: about 1 in 10²⁵"); the exact
  // p-value and surprise (−log10 p) follow as a smaller hint and in the title. Tails beyond a double's range
  // are stored as 0 with the surprise held at 300.
  var SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";

  function unusual(inc) {
    var p = inc.p_value;
    if (typeof p !== "number") return null;
    var beyond = p < 1e-300, odds;
    if (beyond) {
      odds = "less than 1 in 10³⁰⁰";
    } else {
      var n = Number((1 / p).toPrecision(2));
      odds = "about 1 in " + (n < 1e6 ? Math.round(n).toLocaleString() : n < 1e9 ? num(n / 1e6) + " million"
        : n < 1e12 ? num(n / 1e9) + " billion"
        : "10" + String(Math.round(Math.log10(1 / p))).split("").map(function (d) { return SUPERSCRIPT[+d]; }).join(""));
    }
    var bits = beyond ? 300 : -Math.log10(p);
    var words = p >= 0.05 ? "Could be chance" : bits < 3 ? "Unlikely by chance" : bits < 8 ? "Very unlikely by chance"
      : "Far beyond chance";
    var exact = beyond ? "p-value < 1e-300, surprise > 300" : "p-value " + num(p) + ", surprise " + num(inc.surprise);
    var dd = el("span", null, words + ": " + odds + " ");
    dd.appendChild(el("span", "hint", "(" + exact + ")"));
    dd.title = exact + " (the p-value is the chance of a change at least this large in ordinary hours; the surprise, " +
      "−log10 of it)";
    return dd;
  }

  // Where the incident is, as people say it: "this topic (invoice pdf · blank)", "the email channel",
  // "/invoices (failed requests)", "Kestrel Logistics (organization 900002)".
  function where(inc) {
    var ev = inc.evidence || {}, series = String(inc.series || "");
    if (!series) return null;
    var words = series === "all" ? "all tickets" : typeof ev.series_label === "string" && ev.series_label
      ? ev.series_label : seriesWords(series);
    var span = el("span", null, words + (inc.topic ? " (" + inc.topic.label + ")" : ""));
    span.title = "series " + series;
    return span;
  }

  function evidenceList(inc) {
    var ev = inc.evidence || {};
    var dl = el("dl", "evidence");
    var lower = ev.lower, upper = ev.upper;
    if (Array.isArray(ev.band)) { lower = ev.band[0]; upper = ev.band[1]; }
    var minutes = ev.window_minutes;
    var span = !minutes ? "" : minutes >= 120 && minutes % 60 === 0 ? " in " + minutes / 60 + " h" : " in " + minutes + " min";
    var measure = ev.measure || (inc.kind === "friction" ? SIGNAL_NOUNS[ev.signal] : "");
    if (inc.kind === "sentiment") {
      // A tone, not a count: the window's mean VADER score against the segment's usual mean and the band of
      // such a mean. (Incidents from before that evidence carried the ticket count as `observed`.)
      var tone = (ev.segments || []).filter(function (s) { return s && s.name === "mean_sentiment"; })[0];
      var toneNow = typeof ev.observed === "number" && Math.abs(ev.observed) <= 1 ? num(ev.observed) : (tone ? tone.value : "—");
      var tickets = ev.window_tickets !== undefined ? ev.window_tickets : ev.observed;
      var toneBand = typeof ev.lower === "number" && typeof ev.upper === "number" && ev.lower < ev.upper
        ? " (normal " + num(ev.lower) + " to " + num(ev.upper) + ")" : "";
      term(dl, "Observed", "mean sentiment " + toneNow + " on a -1 to +1 scale (-1 most negative) over " + num(tickets) +
        " tickets" + span);
      term(dl, "Expected", ev.expected !== undefined ? "mean sentiment " + num(ev.expected) + toneBand : null);
    } else {
      term(dl, "Observed", ev.observed !== undefined ? num(ev.observed) + (measure ? " " + measure : "") + span : null);
      term(dl, "Expected", ev.expected !== undefined ? num(ev.expected) +
        (lower !== undefined && upper !== undefined ? " (band " + num(lower) + "–" + num(upper) + ")" : "") : null);
    }
    term(dl, "How unusual", unusual(inc));
    term(dl, "Direction", inc.direction);
    if (inc.kind !== "friction") {  // a friction incident's people are its page's sessions (below)
      term(dl, "Customers", inc.requester_count);
      term(dl, "Accounts", inc.account_count);
      term(dl, "Tickets", inc.ticket_count);
    }
    term(dl, "Where", where(inc));
    term(dl, "First seen", when(inc.first_seen_at));
    term(dl, "Detected", when(inc.detected_at));
    if (inc.resolved_at) term(dl, "Resolved", when(inc.resolved_at));
    term(dl, "Status", inc.status + " · by " + inc.status_by + " · " + when(inc.status_changed_at));
    // A sentiment incident's one "segment" is its mean tone, already under Observed.
    var shares = Array.isArray(ev.segments)
      ? ev.segments.filter(function (s) { return !(s && s.name === "mean_sentiment"); }) : [];
    if (shares.length) {
      var segs = el("ul", "plain");
      shares.forEach(function (s) {
        var named = typeof s === "object" && s && typeof s.label === "string" && s.label;
        var text = typeof s === "object" && s ? (s.name || "") + " = " +
          (named ? s.label + " (" + (s.value || "") + ")" : (s.value || "")) +
          (s.share !== undefined ? ": " + Math.round(s.share * 100) + "% of the window" : "") +
          (s.baseline_share !== undefined ? " (usually " + Math.round(s.baseline_share * 100) + "%)" : "") : String(s);
        segs.appendChild(el("li", null, text));
      });
      term(dl, "Segments", segs);
    }
    var mood = ev.sentiment;  // on a rise whose tickets are clearly angrier than the topic's usual
    if (mood && typeof mood.mean === "number" && typeof mood.usual === "number") {
      term(dl, "Tone", "mean sentiment " + num(mood.mean) + " on a -1 to +1 scale (-1 most negative)" +
        (mood.tickets ? " over " + counted(mood.tickets, "ticket") : "") + "; usually " + num(mood.usual));
    }
    if (Array.isArray(ev.top_terms) && ev.top_terms.length) {
      term(dl, "Top terms", ev.top_terms.map(function (t) { return Array.isArray(t) ? t[0] : t; }).join(" · "));
    }
    if (ev.release && typeof ev.release === "object") {
      var r = ev.release;
      term(dl, "Release", (r.version || "") + (r.minutes_before !== undefined ? ", deployed " + r.minutes_before +
        " min before first seen" : r.deployed_at ? ", deployed " + when(r.deployed_at) : "") +
        (r.description ? ": " + r.description : ""));
    }
    if (ev.merged_into_incident) term(dl, "Merged into", "#" + ev.merged_into_incident);
    if (inc.kind === "friction" && ev.path) {  // widget friction: the page, its signals, who met it
      var signals = Array.isArray(ev.signals) && ev.signals.length ? ev.signals :
        [{ signal: ev.signal, observed: ev.observed, expected: ev.expected }];
      term(dl, "Page", ev.path + " · " + num(ev.sessions) + " sessions, " + num(ev.users) + " signed-in users");
      var sigs = el("ul", "plain");
      signals.forEach(function (x) {
        sigs.appendChild(el("li", null, String(x.signal || "").replace(/_/g, " ") + ": " + num(x.observed) +
          " in its worst hour, usually " + num(x.expected) +
          (x.visitors ? " from its " + num(x.visitors) + " visitors" : "")));
      });
      term(dl, "Signals", sigs);
    }
    if (Array.isArray(ev.pages) && ev.pages.length) {  // where requesters met friction before writing
      var pages = el("ul", "plain");
      ev.pages.forEach(function (p) {
        var usual = typeof p.usual_share === "number"  // the page's usual share of customers who write
          ? "; usually " + (p.usual_share < 0.01 ? "under 1%" : Math.round(100 * p.usual_share) + "%") +
            " of those who write" + (p.associated ? ", far fewer than here: a clue to this incident" : "")
          : "";
        pages.appendChild(el("li", null, String(p.path) + ": " + counted(p.users, "customer") + ", " +
          counted(p.sessions, "session") + usual));
      });
      term(dl, "Pages before the tickets", pages);
    }
    return dl;
  }

  function representatives(inc) {
    var reps = (inc.evidence && inc.evidence.representatives) || [];
    if (!Array.isArray(reps) || !reps.length) return null;
    var ul = el("ul", "representatives");
    reps.forEach(function (r) {
      var li = el("li");
      li.appendChild(el("strong", null, "#" + (r.ticket_id || "?") + " "));
      li.appendChild(document.createTextNode(r.text || ""));
      ul.appendChild(li);
    });
    return ul;
  }

  // What an action did, said once to screen readers (a live region that exists before the text arrives)
  // and shown under the actions until the detail is drawn again.
  var announcer = null;
  function announce(text) {
    if (!announcer) {
      announcer = el("p", "visually-hidden");
      announcer.setAttribute("role", "status");
      document.body.appendChild(announcer);
    }
    announcer.textContent = text;
    var shown = document.querySelector("#incident-detail .detail-done");
    if (shown) { shown.textContent = text; shown.hidden = !text; }
  }

  function actionButton(label, attrs, handler) {
    var b = el("button", attrs.cls || null, label);
    b.type = "button";
    b.dataset.action = attrs.action;
    b.addEventListener("click", function () {
      var by = $("by").value.trim();
      if (!by) {
        detailError("Enter your name first: status changes and feedback record who made them.");
        $("by").focus();
        return;
      }
      localStorage.setItem(BY_KEY, by);
      b.disabled = true;  // (a disabled button loses focus: the detail puts it back on the redrawn one)
      handler(by).then(function (inc) {
        detailError("");
        renderDetail(inc, attrs.action);
        announce(typeof attrs.done === "function" ? attrs.done(inc) : attrs.done || "");
        loadList().catch(listError);
        document.dispatchEvent(new Event("gs-incident-changed"));  // sections that count incidents reload
      }).catch(function (err) { b.disabled = false; detailError(err.message); });
    });
    return b;
  }

  // Notifications (Slack, webhooks, PagerDuty) held back for a while: this incident's, or its series'.
  var MUTE_HOURS = [[1, "1 hour"], [4, "4 hours"], [24, "1 day"], [168, "7 days"]];

  function muteControls(inc) {
    var box = el("div", "mute");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Notifications");
    var m = inc.mute;
    if (m) {
      var what = m.scope === "incident" ? "this incident" : "everything on " + m.series;
      box.appendChild(el("span", "muted-line", "Notifications muted for " + what + " until " + when(m.until) +
        (m.by ? " · by " + m.by : "") + (m.reason ? " · " + m.reason : "")));
      box.appendChild(actionButton("Unmute", { action: "unmute", cls: "secondary" }, function () {
        return api("/api/v1/mutes/" + m.id, { method: "DELETE" }).then(function () {
          return api("/api/v1/incidents/" + inc.id);
        });
      }));
      return box;
    }
    var label = el("label", null, "Mute notifications for ");
    var hours = el("select");
    hours.id = "mute-hours";
    MUTE_HOURS.forEach(function (h) {
      var o = el("option", null, h[1]);
      o.value = String(h[0]);
      if (h[0] === 4) o.selected = true;
      hours.appendChild(o);
    });
    label.appendChild(hours);
    box.appendChild(label);
    function mute(body) {
      return function (by) {
        body.hours = Number(hours.value);
        body.by = by;
        return send("POST", "/api/v1/mutes", body).then(function () { return api("/api/v1/incidents/" + inc.id); });
      };
    }
    box.appendChild(actionButton("This incident", { action: "mute-incident", cls: "secondary" },
      mute({ incident_id: inc.id })));
    if (inc.series && inc.series !== "all") {
      box.appendChild(actionButton("Everything on " + seriesWords(inc.series), { action: "mute-series", cls: "secondary" },
        mute({ series: inc.series })));
    }
    return box;
  }

  // One problem the detector saw twice: a person merges this incident into another active one of the
  // same family (volume, drop, sentiment); in-app friction incidents stay beside them as related.
  var FAMILY = { spike: "volume", new_topic: "volume", concentration: "volume", drop: "drop", sentiment: "sentiment" };

  function mergeControls(inc) {
    if (!FAMILY[inc.kind] || (inc.status !== "open" && inc.status !== "acknowledged")) return null;
    var box = el("div", "mute merge");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Merge");
    var label = el("label", null, "Same problem as ");
    var into = el("select");
    into.id = "merge-into";
    into.appendChild(el("option", null, "another active incident…"));
    into.firstChild.value = "";
    label.appendChild(into);
    box.appendChild(label);
    var button = el("button", "secondary", "Merge into it");
    button.type = "button";
    button.dataset.action = "merge";
    button.disabled = true;
    box.appendChild(button);
    api("/api/v1/incidents?status=open,acknowledged&limit=200").then(function (data) {
      var others = data.incidents.filter(function (o) { return o.id !== inc.id && FAMILY[o.kind] === FAMILY[inc.kind]; });
      others.forEach(function (o) {
        var opt = el("option", null, "#" + o.id + " " + o.title);
        opt.value = String(o.id);
        into.appendChild(opt);
      });
      if (!others.length) into.firstChild.textContent = "no other active incident of this kind";
      into.disabled = !others.length;
    }).catch(function (err) { detailError(err.message); });
    into.addEventListener("change", function () {
      button.disabled = !into.value;
      button.dataset.armed = "";
      button.textContent = "Merge into it";
    });
    button.addEventListener("click", function () {
      var by = $("by").value.trim();
      if (!by) {
        detailError("Enter your name first: status changes and feedback record who made them.");
        $("by").focus();
        return;
      }
      var target = Number(into.value);
      if (button.dataset.armed !== "1") {  // a second click confirms: a merge is not undone
        button.dataset.armed = "1";
        button.textContent = "Merge #" + inc.id + " into #" + target + "? Click again";
        return;
      }
      localStorage.setItem(BY_KEY, by);
      button.disabled = true;
      send("POST", "/api/v1/incidents/" + inc.id + "/merge", { into: target, by: by }).then(function (kept) {
        select(kept.id);
        loadList().catch(listError);
      }).catch(function (err) { button.disabled = false; detailError(err.message); });
    });
    return box;
  }

  function mergeNote(inc) {
    var ev = inc.evidence || {};
    var into = ev.merged_into_incident, merged = Array.isArray(ev.merged_incidents) ? ev.merged_incidents : [];
    if (!into && !merged.length) return null;
    var p = el("p", "merge-note");
    function link(id) {
      var b = el("button", "link", "#" + id);
      b.type = "button";
      b.dataset.related = String(id);
      b.addEventListener("click", function () { select(id); });
      return b;
    }
    if (into) {
      p.appendChild(document.createTextNode("Merged into "));
      p.appendChild(link(into));
      p.appendChild(document.createTextNode(": its tickets and later ones are there. "));
      if (inc.status_by !== "detector") {  // a person's merge; the detector's (one topic now) stands
        p.appendChild(actionButton("Undo merge", { action: "unmerge", cls: "secondary", done: function (after) {
          return "Merge undone by " + after.status_by + ": incident #" + after.id + " is " + after.status +
            " again and gets its tickets back from #" + into + ".";
        } }, function (by) {
          return send("POST", "/api/v1/incidents/" + inc.id + "/unmerge", { by: by });
        }));
      }
    } else {
      p.appendChild(document.createTextNode("Merged into this one: "));
      merged.forEach(function (id, i) {
        if (i) p.appendChild(document.createTextNode(", "));
        p.appendChild(link(id));
      });
      p.appendChild(document.createTextNode("."));
    }
    return p;
  }

  // What was sent about the incident: each event, to Slack and to each webhook, and how it went.
  var STATE_WORDS = { pending: "waiting", delivered: "sent", failed: "failed", muted: "muted",
                      not_configured: "not configured" };

  function target(name, t) {
    var span = el("span", "note-target state-" + t.state, name + ": " + (STATE_WORDS[t.state] || t.state));
    var why = [];
    if (t.status) why.push("HTTP " + t.status);
    if (t.error && t.state !== "muted" && t.state !== "not_configured") why.push(t.error);
    if (t.attempts > 1) why.push(t.attempts + " attempts");
    if (why.length) span.title = why.join(" · ");
    if (why.length && t.state !== "delivered") span.textContent += " (" + why.join(" · ") + ")";
    return span;
  }

  function notificationList(notes) {
    var ul = el("ul", "plain notifications");
    notes.forEach(function (n) {
      var li = el("li");
      li.appendChild(el("strong", null, n.event));
      li.appendChild(document.createTextNode(" · " + when(n.created_at) + " · "));
      li.appendChild(target("Slack", n.slack));
      (n.webhooks || []).forEach(function (w) {
        li.appendChild(document.createTextNode(" · "));
        var name = w.format === "pagerduty" ? "PagerDuty" : "webhook";
        li.appendChild(target(name + " #" + w.webhook_id + (w.description ? " (" + w.description + ")" : ""), w));
      });
      ul.appendChild(li);
    });
    return ul;
  }

  function detailError(msg) {
    var e = document.querySelector("#incident-detail .detail-error");
    if (e) { e.textContent = msg; e.hidden = !msg; }
  }

  function renderDetail(inc, refocus) {
    var box = $("incident-detail");
    var focused = refocus || (document.activeElement && box.contains(document.activeElement) ?
      document.activeElement.dataset.action : null);
    box.replaceChildren();
    box.hidden = false;
    var head = el("div", "detail-head");
    head.appendChild(badge(inc.kind));
    head.appendChild(statusTag(inc.status));
    var close = el("button", "close", "Close");
    close.type = "button";
    close.dataset.action = "close";
    close.setAttribute("aria-label", "Close incident #" + inc.id);
    close.addEventListener("click", function () { select(null); });
    head.appendChild(close);
    box.appendChild(head);
    var heading = el("h2", null, inc.title + " (#" + inc.id + ")");
    heading.tabIndex = -1;  // where focus goes when an action took its button away
    box.appendChild(heading);
    box.appendChild(el("p", "sentence", localSentence(inc)));
    if (inc.llm_summary) {  // the model's words, from redacted tickets: text, and labelled as such
      var summary = el("p", "llm-summary");
      summary.appendChild(el("span", "llm-label", "Summary by Claude: "));
      summary.appendChild(document.createTextNode(inc.llm_summary));
      box.appendChild(summary);
    }

    var actions = el("div", "actions");
    actions.setAttribute("role", "group");
    actions.setAttribute("aria-label", "Incident actions");
    var mergedAway = (inc.evidence || {}).merged_into_incident;
    ACTIONS.forEach(function (a) {
      if (a.from.indexOf(inc.status) < 0) return;
      if (mergedAway && a.status === "open") return;  // the other one carries it: "Undo merge" brings it back
      // the step forward stands out; going back (reopen) and "not a problem" (dismiss) do not
      actions.appendChild(actionButton(a.label, { action: "status-" + a.status, cls: a.cls, done: function (after) {
        return DONE[a.status] + " by " + after.status_by + ": incident #" + after.id + " is " + after.status + ".";
      } }, function (by) {
        return send("PATCH", "/api/v1/incidents/" + inc.id + "/status", { status: a.status, by: by });
      }));
    });
    [["useful", "Mark useful", inc.useful_count], ["noise", "Mark noise", inc.noise_count]].forEach(function (v) {
      actions.appendChild(actionButton(v[1] + " (" + v[2] + ")", { action: v[0], cls: "secondary", done: function () {
        return "Marked " + v[0] + " by " + $("by").value.trim() + " (one verdict a person; marking again changes nothing).";
      } }, function (by) { return send("POST", "/api/v1/incidents/" + inc.id + "/feedback", { verdict: v[0], by: by }); }));
    });
    box.appendChild(actions);
    var done = el("p", "hint detail-done");
    done.hidden = true;
    box.appendChild(done);
    var note = mergeNote(inc);
    if (note) box.appendChild(note);
    box.appendChild(muteControls(inc));
    var merging = mergeControls(inc);
    if (merging) box.appendChild(merging);
    var err = el("p", "detail-error");
    err.setAttribute("role", "alert");
    err.hidden = true;
    box.appendChild(err);

    // A change of tone on a plan or an organization has no volume series of its own: its evidence says it.
    if (inc.volume && inc.volume.length) {
      box.appendChild(el("h3", null, "Hourly volume"));
      box.appendChild(chart(inc));
      box.appendChild(legend(inc, units(inc)));
    } else if (inc.kind !== "sentiment") {
      box.appendChild(el("h3", null, "Hourly volume"));
      box.appendChild(el("p", "hint", "No hourly volume recorded for this series yet."));
    }
    box.appendChild(el("h3", null, "Evidence"));
    box.appendChild(evidenceList(inc));
    if (Array.isArray(inc.related) && inc.related.length) {
      // The same problem seen another way: the page's own failures, or the tickets they caused.
      box.appendChild(el("h3", null, "Related incidents"));
      var rel = el("ul", "plain related");
      inc.related.forEach(function (r) {
        var li = el("li");
        var link = el("button", "link", "#" + r.id + " " + r.title);
        link.type = "button";
        link.dataset.related = String(r.id);
        link.addEventListener("click", function () { select(r.id); });
        li.appendChild(badge(r.kind));
        li.appendChild(link);
        li.appendChild(document.createTextNode(" · " + r.status + " · " + (r.pages || []).join(", ")));
        rel.appendChild(li);
      });
      box.appendChild(rel);
    }
    if (Array.isArray(inc.accounts) && inc.accounts.length) {
      // Who is hit: the organizations its tickets came from, for customer success as much as support.
      box.appendChild(el("h3", null, "Accounts affected (" + inc.accounts_total + ")"));
      var accts = el("ul", "plain accounts-affected");
      inc.accounts.forEach(function (a) {
        var li = el("li");
        var name = (a.name ? a.name + " " : "") + "(organization " + a.organization_id + ")";
        if (inc.zendesk_url) {
          var link = el("a", null, name);
          link.href = inc.zendesk_url + "/agent/organizations/" + encodeURIComponent(a.organization_id);
          link.target = "_blank";
          link.rel = "noopener noreferrer";
          li.appendChild(link);
        } else {
          li.appendChild(el("span", null, name));
        }
        li.appendChild(document.createTextNode(": " + a.tickets + (a.tickets === 1 ? " ticket" : " tickets") + " from " +
          a.requesters + (a.requesters === 1 ? " person" : " people") + ", first " + when(a.first_ticket_at)));
        accts.appendChild(li);
      });
      box.appendChild(accts);
      if (inc.accounts_total > inc.accounts.length) {
        box.appendChild(el("p", "hint", "The " + inc.accounts.length + " with the most tickets of " + inc.accounts_total + "."));
      }
    }
    var reps = representatives(inc);
    if (reps) { box.appendChild(el("h3", null, "Representative tickets")); box.appendChild(reps); }
    box.appendChild(el("h3", null, "Tickets (" + inc.ticket_ids.length + ")"));
    box.appendChild(ticketIds(inc));
    if (Array.isArray(inc.notifications) && inc.notifications.length) {
      box.appendChild(el("h3", null, "Notifications"));
      box.appendChild(notificationList(inc.notifications));
    }
    if (Array.isArray(inc.history) && inc.history.length) {  // what happened, and who did what
      box.appendChild(el("h3", null, "History"));
      var ol = el("ol", "plain history");
      inc.history.forEach(function (h) {
        var li = el("li", "history-" + String(h.event).replace(/[^a-z_]/g, ""));
        li.appendChild(el("span", "hint", when(h.at) + " · "));
        li.appendChild(document.createTextNode(h.text));
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
    if (focused) {  // the same button, or when the action took it away (Acknowledge), the incident's heading
      var again = box.querySelector('[data-action="' + focused + '"]') || box.querySelector("h2");
      if (again) again.focus();
    }
  }

  function loadDetail(id, focus) {
    var box = $("incident-detail");
    if (focus) {
      box.hidden = false;
      box.replaceChildren(el("p", "hint", "Loading incident #" + id + "…"));
    }
    return api("/api/v1/incidents/" + id).then(function (inc) {
      if (state.selected !== id) return;
      renderDetail(inc);
      if (focus) {  // its top in view (focusing the tall detail scrolled a phone to its middle)
        box.focus({ preventScroll: true });
        if (box.getBoundingClientRect().top < 0 || box.getBoundingClientRect().top > window.innerHeight) {
          box.scrollIntoView({ block: "start" });
        }
      }
    }).catch(function (err) {
      if (state.selected !== id) return;
      box.hidden = false;
      var msg = el("p", "detail-error", "Could not load incident #" + id + ": " + err.message);
      msg.setAttribute("role", "alert");
      box.replaceChildren(msg);
    });
  }

  function select(id) {
    state.opened = true;
    var base = location.pathname + location.search;
    var url = base + (id ? "#id=" + id : "");
    if (url !== base + location.hash) history.pushState(null, "", url);
    show(id, true);
  }

  function show(id, focus) {
    state.selected = id;
    document.querySelectorAll(".incident-item").forEach(function (b) {
      if (parseInt(b.dataset.id, 10) === id) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    });
    if (!id) {
      var box = $("incident-detail");
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    loadDetail(id, focus);
  }

  // --- tabs, refresh, start --------------------------------------------------------------------
  function setFilter(name, focus) {
    state.filter = name;
    state.filtersChanged = true;
    document.querySelectorAll("#tabs [role=tab]").forEach(function (t) {
      var on = t.dataset.filter === name;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      if (on) {
        $("incident-list").setAttribute("aria-labelledby", t.id);
        if (focus) t.focus();
      }
    });
    $("list-state").hidden = false;
    $("list-state").textContent = "Loading incidents…";
    $("incident-list").replaceChildren();
    refresh();
  }

  function listError(err) {
    $("list-state").hidden = false;
    $("list-state").textContent = "Could not load incidents: " + err.message;
  }

  function refresh() {
    clearTimeout(state.timer);
    if (!sessionStorage.getItem(KEY)) return;
    var jobs = [loadList().then(function () { showError(""); }).catch(listError)];
    if (state.selected) jobs.push(loadDetail(state.selected, false));
    Promise.all(jobs).then(function () {
      state.timer = setTimeout(refresh, REFRESH_MS);
    });
  }

  function start() {
    $("login").hidden = true;
    $("incidents-app").hidden = false;
    show(readHash(), false);
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var id = readHash();
    $("by").value = localStorage.getItem(BY_KEY) || "";
    function reload() {
      state.filtersChanged = true;
      $("list-state").hidden = false;
      $("list-state").textContent = "Loading incidents…";
      $("incident-list").replaceChildren();
      refresh();
    }
    var kind = $("kind-filter");
    if (kind) {
      kind.addEventListener("change", function () {
        state.kind = kind.value;
        reload();
      });
    }
    var search = $("search"), typing = null;
    search.addEventListener("input", function () {  // a pause in typing, then one request
      clearTimeout(typing);
      typing = setTimeout(function () {
        var q = search.value.trim();
        if (q === state.q) return;
        state.q = q;
        reload();
      }, 300);
    });
    $("export").addEventListener("click", exportCsv);
    var tabs = Array.prototype.slice.call(document.querySelectorAll("#tabs [role=tab]"));
    tabs.forEach(function (t, i) {
      t.addEventListener("click", function () { setFilter(t.dataset.filter, false); });
      t.addEventListener("keydown", function (ev) {
        var next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
        if (next === undefined) return;
        ev.preventDefault();
        setFilter(tabs[(next + tabs.length) % tabs.length].dataset.filter, true);
      });
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && state.selected && !$("incident-detail").hidden) select(null);
    });
    window.addEventListener("hashchange", function () { show(readHash(), true); });
    window.addEventListener("popstate", function () { show(readHash(), false); });
    $("login").addEventListener("submit", function (ev) {
      ev.preventDefault();
      sessionStorage.setItem(KEY, $("token").value.trim());
      $("token").value = "";
      $("login-error").hidden = true;
      start();
      GS.tokenGiven();
    });
    if (!sessionStorage.getItem(KEY)) { $("login").hidden = false; return; }
    state.selected = id;
    start();
  });
})();
