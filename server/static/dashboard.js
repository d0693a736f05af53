// Operations dashboard: polls /api/v1/status with the tenant's token and draws per-minute bars.
// Every value from the API is written with textContent or as SVG attributes, never as HTML. Times, dates
// and counts are written with page.js's helpers, as on the incidents page.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var KEY = GS.TOKEN_KEY;

  function tokenFromHash() {
    var m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(KEY);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function card(label, value, warn) {
    var c = el("div", "card" + (warn ? " warn" : ""));
    c.appendChild(el("div", "label", label));
    c.appendChild(el("div", "value", value));
    return c;
  }

  function fmt(n) { return (Math.round(n * 10) / 10).toLocaleString(); }

  // The counters beside a source's chart, read off the chart's own bars (its last bar is the minute under way):
  // that minute so far, the last 5 bars and all 60, so the numbers and the bars always agree.
  function minutes(series) {
    var sum = function (list) { return list.reduce(function (a, p) { return a + p.count; }, 0); };
    return { now: series.length ? series[series.length - 1].count : 0, five: sum(series.slice(-5)), hour: sum(series) };
  }
  var count = GS.count;

  // Drawn at the width it has (at most 720 px) rather than scaled to it, so that its 12 px labels stay
  // 12 px on a phone; render() draws it again every poll, at the width of the moment.
  function chart(series, room) {
    // its card's width (drawn at it, so its labels stay 12 px), however wide the screen
    var w = Math.round(Math.max(280, room || 720)), h = 140, foot = 22;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "chart");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("width", String(w));
    svg.setAttribute("height", String(h));
    svg.setAttribute("role", "img");
    // The scale follows the ordinary minutes: one minute of a backfill (tens of thousands of events) would
    // flatten the live traffic to nothing, so a minute far above the rest is drawn cut at the top.
    var peak = 1, counts = series.map(function (p) { return p.count; }).filter(function (c) { return c > 0; });
    counts.forEach(function (c) { if (c > peak) peak = c; });
    counts.sort(function (a, b) { return a - b; });
    counts.pop();  // the largest minute does not set the scale it may be cut by
    var usual = counts.length ? counts[Math.max(0, Math.ceil(counts.length * 0.9) - 1)] : peak;  // 90th percentile
    var max = Math.max(1, Math.min(peak, 3 * usual));
    var top = count(max) + (peak > max ? "+" : ""), pad = Math.max(22, 6 + 7 * top.length);
    svg.setAttribute("aria-label", "Events per minute, last hour; peak " + count(peak) +
      (peak > max ? " (cut at " + count(max) + ")" : ""));
    var bw = (w - pad) / series.length;
    series.forEach(function (p, i) {
      var bh = (h - foot) * Math.min(p.count, max) / max;
      var r = document.createElementNS(SVG, "rect");
      r.setAttribute("class", p.count > max ? "bar cut" : "bar");
      r.setAttribute("x", String(pad + i * bw + 1));
      r.setAttribute("y", String(h - foot - bh));
      r.setAttribute("width", String(Math.max(1, bw - 2)));
      r.setAttribute("height", String(bh));
      var t = document.createElementNS(SVG, "title");
      t.textContent = GS.recent(p.minute) + ": " + count(p.count);
      r.appendChild(t);
      svg.appendChild(r);
    });
    var axis = document.createElementNS(SVG, "line");
    axis.setAttribute("class", "axis");
    axis.setAttribute("x1", String(pad)); axis.setAttribute("x2", String(w));
    axis.setAttribute("y1", String(h - foot)); axis.setAttribute("y2", String(h - foot));
    svg.appendChild(axis);
    [[12, top], [h - foot + 4, "0"]].forEach(function (a) {
      var t = document.createElementNS(SVG, "text");
      t.setAttribute("x", "0"); t.setAttribute("y", String(a[0]));
      t.textContent = a[1];
      svg.appendChild(t);
    });
    var t0 = document.createElementNS(SVG, "text");
    t0.setAttribute("x", String(pad)); t0.setAttribute("y", String(h - 5));
    t0.textContent = "60 min ago";
    svg.appendChild(t0);
    var t1 = document.createElementNS(SVG, "text");
    t1.setAttribute("x", String(w)); t1.setAttribute("y", String(h - 5));
    t1.setAttribute("text-anchor", "end");
    t1.textContent = "now";
    svg.appendChild(t1);
    return svg;
  }

  // Whether the detector is still reading a backlog (page.js reading, the incidents page's rule too), from the
  // latest status answer; until it has caught up, no incident can have been found in it. held: the history it
  // reads, named by what it holds (page.js historyWords).
  var detector = null, backlog = null, held = "the history";

  // The active incidents' list when there are none: nothing found yet, or nothing unusual; before the first
  // status answer, which says which, just none.
  function noIncidents() {
    if (!detector) return "None.";
    if (!backlog) return "None: nothing unusual right now.";
    return backlog.pending
      ? "None yet: the detector is still reading " + held + " (" + GS.toGo(backlog) + "). Incidents appear " +
        "here a few minutes after it has caught up."
      : "None yet: the ticket history is still arriving (the latest at " + GS.clock(backlog.arrivedAt) +
        "). Incidents appear here a few minutes after the detector has read it all.";
  }

  function render(data) {
    document.getElementById("tenant").textContent = data.tenant.name;
    var d = detector = data.detector;
    backlog = GS.reading(data);
    held = GS.historyWords(data);
    var empty = document.getElementById("incidents-now-empty");
    if (empty) empty.textContent = noIncidents();
    // The sources' counts grow as the detector reads the log (up to its checkpoint's offset): they are the
    // events processed; with the ones still waiting for it, the events received.
    var processed = data.sources.reduce(function (a, s) { return a + s.total; }, 0);
    var det = document.getElementById("detector");
    det.replaceChildren(
      card("Events received", count(processed + d.pending_events)),
      card("Processed", count(processed)),
      card("Detector pending", count(d.pending_events), d.pending_events > 1000),
      card("Detector lag", fmt(d.lag_seconds) + " s", d.lag_seconds > 60)
    );
    if (d.skipped_events) {  // events the detector could not process: an operator should look (groundswell dead-letters)
      var skipped = card("Skipped events", count(d.skipped_events), true);
      skipped.title = "Events the detector could not process and skipped, the latest " + GS.recent(d.last_skipped_at) +
        ". An operator lists them, with their errors, with: groundswell dead-letters";
      det.appendChild(skipped);
    }
    var box = document.getElementById("sources");
    box.replaceChildren();
    if (!data.sources.length) box.appendChild(el("p", "hint", "No events processed yet."));
    data.sources.forEach(function (s) {
      var sec = el("section", "source");
      // events, not tickets: a ticket arrives as several (created, then each update a trigger sends)
      sec.appendChild(el("h2", null, s.source === "zendesk" ? "Zendesk events (tickets and their updates)" :
        "In-app widget events"));
      var cards = el("div", "cards");
      var recent = minutes(s.series);
      cards.appendChild(card("Events processed", count(s.total)));
      cards.appendChild(card("This minute so far", count(recent.now)));
      cards.appendChild(card("Last 5 min", count(recent.five)));
      cards.appendChild(card("Last hour", count(recent.hour)));
      sec.appendChild(cards);
      var drawn = chart(s.series, box.clientWidth - 30);  // the section's padding and border
      sec.appendChild(drawn);
      if (drawn.querySelector(".bar.cut")) {  // say what the red bars are
        sec.appendChild(el("p", "hint chart-note", "Red: a minute above the chart's scale (its top label ends in +), " +
          "such as a history import, which arrives as many events at once; hover a bar for its count."));
      }
      sec.appendChild(el("p", "hint", "Events by the minute they were received, counted once the detector has read " +
        "them: an import of past tickets counts in the minutes it arrived. The counts above add up the chart's bars."));
      var kinds = Object.keys(s.kinds).sort(function (a, b) { return s.kinds[b] - s.kinds[a]; }).slice(0, 8)
        .map(function (k) { return k + " " + count(s.kinds[k]); }).join(" · ");
      sec.appendChild(el("p", "kinds", kinds));
      box.appendChild(sec);
    });
  }

  // A topic's tickets per hour over the last 24 hours, said in numbers to a screen reader (and on hover); with
  // none, said as text rather than an empty cell.
  function spark(volume) {
    var total = 0, most = 0;
    (volume || []).forEach(function (p) { total += p.count; most = Math.max(most, p.count); });
    if (!total) return el("span", "hint", "none");
    var said = count(total) + (total === 1 ? " ticket" : " tickets") + " in the last 24 h, at most " + count(most) +
      " in one hour";
    var w = 120, h = 24, svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", String(w)); svg.setAttribute("height", String(h));
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    var bw = w / volume.length;
    volume.forEach(function (p, i) {
      var bh = (h - 2) * p.count / most, r = document.createElementNS(SVG, "rect");
      r.setAttribute("class", "bar");
      r.setAttribute("x", String(i * bw)); r.setAttribute("y", String(h - bh));
      r.setAttribute("width", String(Math.max(1, bw - 1))); r.setAttribute("height", String(bh));
      svg.appendChild(r);
    });
    svg.setAttribute("class", "spark");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", said);
    var title = document.createElementNS(SVG, "title");
    title.textContent = said;
    svg.appendChild(title);
    return svg;
  }

  function api(path, options) {
    var token = sessionStorage.getItem(KEY);
    options = options || {};
    options.headers = Object.assign({ Authorization: "Bearer " + token }, options.headers || {});
    return GS.request(path, options).then(function (r) {
      if (!r.ok) throw new Error("The server answered " + r.status + ".");
      return r.json();
    });
  }

  // A topic's detail, drawn under the table: brought into view with the cursor on its heading when a topic
  // is picked (moved), left where it is when it is drawn again after its name was saved. The id is said
  // as a topic's ("topic 4"), not "#4", which beside the incident badges reads as an incident. Each reading
  // is numbered: an answer that arrives after a later one was asked for (another topic picked meanwhile) is
  // dropped, so the detail is the topic picked last.
  var topic = { asked: 0, id: null };
  // ``said``: what the last save did, shown under the name field of the topic it was saved on.
  function showTopic(id, moved, said) {
    var mine = ++topic.asked;
    topic.id = id;
    api("/api/v1/topics/" + id + "?hours=24").then(function (t) {
      if (mine !== topic.asked) return;
      var box = document.getElementById("topic-detail");
      box.replaceChildren();
      box.hidden = false;
      box.className = "source";
      var heading = el("h3", null, t.display_name + " (topic " + t.id + ")");
      heading.id = "topic-detail-heading";
      heading.tabIndex = -1;
      box.appendChild(heading);
      box.appendChild(el("p", null, t.llm_summary || t.summary));
      var ul = el("ul");
      t.representatives.forEach(function (r) { ul.appendChild(el("li", null, "#" + r.ticket_id + ": " + r.text)); });
      box.appendChild(ul);
      var form = el("form");
      // The field holds the name people gave the topic, never its keyword label: those are words from
      // customers' tickets, and a name saved as it stands goes out in the known-issue banner. The keyword label,
      // which the topic goes by with the field left empty, is its placeholder.
      var input = el("input");
      input.value = t.name || "";
      input.placeholder = t.label || "";
      input.setAttribute("aria-label", "Topic name");
      // The name reaches customers: the widget's known-issue banner names the problem by it (never by the label).
      var hint = el("p", "hint", "Customers see this name in your product's known-issue banner, on the pages an " +
                                  "open incident on this topic affects. Leave it empty to go back to the keyword label.");
      hint.id = "topic-name-hint";
      input.setAttribute("aria-describedby", hint.id);
      var save = el("button", null, "Save name");
      save.type = "submit";
      form.appendChild(input); form.appendChild(save); form.appendChild(hint);
      var result = el("p", "hint", said || "");
      result.setAttribute("role", "status");
      result.hidden = !said;
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var name = input.value.trim() || null;
        if (name === (t.name || null)) {  // saved as it opened: nothing to change
          result.textContent = "Name unchanged.";
          result.hidden = false;
          return;
        }
        api("/api/v1/topics/" + t.id, { method: "PATCH", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ name: name }) })
          .then(function () {
            var done = name ? "Saved: the topic is called \u201c" + name + "\u201d." :
              "Name removed: the topic goes by its keyword label again.";
            if (topic.id === t.id) showTopic(t.id, false, done);  // unless another topic was picked meanwhile
            pollTopics();
          })
          .catch(function (err) { showError(GS.notSaved("The topic's name", err)); });
      });
      box.appendChild(form);
      box.appendChild(result);
      if (moved) {
        box.scrollIntoView({ block: "start" });
        heading.focus({ preventScroll: true });
      }
    }).catch(function (err) { if (mine === topic.asked) showError(err.message); });
  }

  // The incidents' and the topics' polls are numbered too: one started again (a topic's name saved, a token
  // given in the form) replaces the one under way, whose answer is dropped and which polls no more. Both stop
  // while the tab holds no token (the status poll found it refused and asks for one): giving one starts them.
  var polls = { incidents: 0, topics: 0 };

  // The incidents that are open or acknowledged, newest first, each linking to its page; and per topic the
  // newest one on it, for the topics table.
  var activeByTopic = {};
  function pollIncidents() {
    var mine = ++polls.incidents;
    if (!sessionStorage.getItem(KEY)) return Promise.resolve();
    return api("/api/v1/incidents?status=open,acknowledged&limit=100").then(function (data) {
      if (mine !== polls.incidents) return;
      var box = document.getElementById("incidents-now"), list = document.getElementById("incidents-now-list");
      activeByTopic = {};
      data.incidents.forEach(function (inc) {
        if (inc.topic && !activeByTopic[inc.topic.id]) activeByTopic[inc.topic.id] = inc;
      });
      list.replaceChildren();
      if (!data.incidents.length) {
        var empty = el("li", "hint", noIncidents());
        empty.id = "incidents-now-empty";
        list.appendChild(empty);
      }
      data.incidents.slice(0, 5).forEach(function (inc) {
        var li = el("li");
        var a = el("a", null, "#" + inc.id + " " + inc.title);
        a.href = "/incidents#id=" + inc.id;
        li.appendChild(a);
        li.appendChild(el("span", "hint", " · " + inc.status + " · detected " + GS.recent(inc.detected_at)));
        list.appendChild(li);
      });
      if (data.total > 5) {
        var more = el("a", null, "All " + count(data.total) + " active incidents");
        more.href = "/incidents";
        var li = el("li");
        li.appendChild(more);
        list.appendChild(li);
      }
      box.hidden = false;
    }).catch(function () { /* the status poll reports errors */ })
      .then(function () { if (mine === polls.incidents && sessionStorage.getItem(KEY)) setTimeout(pollIncidents, 15000); });
  }

  function pollTopics() {
    var mine = ++polls.topics;
    if (!sessionStorage.getItem(KEY)) return;
    api("/api/v1/topics?limit=15&volume_hours=24").then(function (data) {
      if (mine !== polls.topics) return;
      document.getElementById("topics-box").hidden = false;
      var body = document.querySelector("#topics tbody");
      if (body.contains(document.activeElement)) return;  // not under the cursor of someone going through it
      body.replaceChildren();
      var seen = {};
      data.topics.forEach(function (t) { seen[t.display_name] = (seen[t.display_name] || 0) + 1; });
      data.topics.forEach(function (t) {
          var tr = el("tr");
          var name = el("td");
          // Two topics the model keeps apart can share their top words; the id tells them apart.
          var link = el("a", null, seen[t.display_name] > 1 ? t.display_name + " (topic " + t.id + ")" : t.display_name);
          link.href = "#topic-detail";
          link.addEventListener("click", function (ev) { ev.preventDefault(); showTopic(t.id, true); });
          name.appendChild(link);
          tr.appendChild(name);
          // each cell names its column, which a phone's stacked rows show before it (app.css, table.stack)
          tr.appendChild(labelled(el("td", null, count(t.size)), "Tickets"));
          var sp = labelled(el("td"), "Last 24 h"); sp.appendChild(spark(t.volume)); tr.appendChild(sp);
          tr.appendChild(labelled(el("td", null, GS.recent(t.last_seen_at)), "Last seen"));
          var open = activeByTopic[t.id];
          if (open) {  // a topic with a live incident stands out and links to it
            var badge = el("a", "topic-incident", "incident #" + open.id + " (" + GS.kindName(open.kind) + ")");
            badge.href = "/incidents#id=" + open.id;
            badge.title = open.title;
            name.appendChild(document.createTextNode(" "));
            name.appendChild(badge);
            tr.className = "has-incident";
          }
          body.appendChild(tr);
      });
    }).catch(function () { /* the status poll reports errors */ })
      .then(function () { if (mine === polls.topics && sessionStorage.getItem(KEY)) setTimeout(pollTopics, 5000); });
  }

  function labelled(cell, label) { cell.dataset.label = label; return cell; }

  function showError(msg) {
    var e = document.getElementById("error");
    e.textContent = msg;
    e.hidden = !msg;
  }

  // The status, read every 2 s (every 5 s after a failure, until the server answers again and the error goes).
  // A failure over figures already drawn says they are the last answer's, and from when.
  var answeredAt = null;
  function poll() {
    var token = sessionStorage.getItem(KEY);
    if (!token) { document.getElementById("login").hidden = false; return; }
    GS.request("/api/v1/status", { headers: { Authorization: "Bearer " + token } })
      .then(function (r) {
        if (r.status === 401) {
          sessionStorage.removeItem(KEY);
          return r.json().catch(function () { return null; }).then(function (body) {
            var refused = new Error(GS.tokenRefused(body && body.error && body.error.message));
            refused.status = 401;
            throw refused;
          });
        }
        if (!r.ok) throw new Error("The server answered " + r.status + ".");
        return r.json();
      })
      .then(function (data) { showError(""); render(data); answeredAt = Date.now(); setTimeout(poll, 2000); })
      .catch(function (err) {
        showError(answeredAt && err.status !== 401 ? GS.stale(err, answeredAt) : err.message);
        if (sessionStorage.getItem(KEY)) setTimeout(poll, 5000);
        else document.getElementById("login").hidden = false;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tokenFromHash();
    document.getElementById("login").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var token = GS.pastedToken(document.getElementById("token").value);
      if (!token) { showError(GS.BAD_TOKEN); return; }
      sessionStorage.setItem(KEY, token);
      document.getElementById("login").hidden = true;
      poll();
      pollIncidents().then(pollTopics);  // the topics table marks the incidents' topics from the first draw
    });
    poll();
    if (sessionStorage.getItem(KEY)) pollIncidents().then(pollTopics);
  });
})();
