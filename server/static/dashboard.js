// Operations dashboard: polls /api/v1/status with the tenant's token and draws per-minute bars.
// Every value from the API is written with textContent or as SVG attributes, never as HTML.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var KEY = "groundswell.token";

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

  function chart(series) {
    var w = 720, h = 140, pad = 22;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "chart");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("role", "img");
    var max = 1;
    series.forEach(function (p) { if (p.count > max) max = p.count; });
    svg.setAttribute("aria-label", "Events per minute, last hour; peak " + max);
    var bw = (w - pad) / series.length;
    series.forEach(function (p, i) {
      var bh = (h - pad) * p.count / max;
      var r = document.createElementNS(SVG, "rect");
      r.setAttribute("class", "bar");
      r.setAttribute("x", String(pad + i * bw + 1));
      r.setAttribute("y", String(h - pad - bh));
      r.setAttribute("width", String(Math.max(1, bw - 2)));
      r.setAttribute("height", String(bh));
      var t = document.createElementNS(SVG, "title");
      t.textContent = new Date(p.minute).toLocaleTimeString() + ": " + p.count;
      r.appendChild(t);
      svg.appendChild(r);
    });
    var axis = document.createElementNS(SVG, "line");
    axis.setAttribute("class", "axis");
    axis.setAttribute("x1", String(pad)); axis.setAttribute("x2", String(w));
    axis.setAttribute("y1", String(h - pad)); axis.setAttribute("y2", String(h - pad));
    svg.appendChild(axis);
    [[pad, String(max)], [h - pad, "0"]].forEach(function (a) {
      var t = document.createElementNS(SVG, "text");
      t.setAttribute("x", "0"); t.setAttribute("y", String(a[0] + 4));
      t.textContent = a[1];
      svg.appendChild(t);
    });
    var t0 = document.createElementNS(SVG, "text");
    t0.setAttribute("x", String(pad)); t0.setAttribute("y", String(h - 6));
    t0.textContent = "60 min ago";
    svg.appendChild(t0);
    var t1 = document.createElementNS(SVG, "text");
    t1.setAttribute("x", String(w - 24)); t1.setAttribute("y", String(h - 6));
    t1.textContent = "now";
    svg.appendChild(t1);
    return svg;
  }

  function render(data) {
    document.getElementById("tenant").textContent = data.tenant.name;
    var d = data.detector;
    var det = document.getElementById("detector");
    det.replaceChildren(
      card("Events processed", data.sources.reduce(function (a, s) { return a + s.total; }, 0).toLocaleString()),
      card("Detector pending", d.pending_events, d.pending_events > 1000),
      card("Detector lag", fmt(d.lag_seconds) + " s", d.lag_seconds > 60)
    );
    var box = document.getElementById("sources");
    box.replaceChildren();
    if (!data.sources.length) box.appendChild(el("p", "hint", "No events processed yet."));
    data.sources.forEach(function (s) {
      var sec = el("section", "source");
      sec.appendChild(el("h2", null, s.source === "zendesk" ? "Zendesk tickets" : "In-app widget"));
      var cards = el("div", "cards");
      cards.appendChild(card("Total", s.total.toLocaleString()));
      cards.appendChild(card("Last minute", fmt(s.events_per_minute.last_1m)));
      cards.appendChild(card("Per min, 5 min", fmt(s.events_per_minute.last_5m)));
      cards.appendChild(card("Per min, 1 h", fmt(s.events_per_minute.last_60m)));
      sec.appendChild(cards);
      sec.appendChild(chart(s.series));
      var kinds = Object.keys(s.kinds).sort(function (a, b) { return s.kinds[b] - s.kinds[a]; }).slice(0, 8)
        .map(function (k) { return k + " " + s.kinds[k]; }).join(" · ");
      sec.appendChild(el("p", "kinds", kinds));
      box.appendChild(sec);
    });
  }

  function showError(msg) {
    var e = document.getElementById("error");
    e.textContent = msg;
    e.hidden = !msg;
  }

  function poll() {
    var token = sessionStorage.getItem(KEY);
    if (!token) { document.getElementById("login").hidden = false; return; }
    fetch("/api/v1/status", { headers: { Authorization: "Bearer " + token } })
      .then(function (r) {
        if (r.status === 401) { sessionStorage.removeItem(KEY); throw new Error("The token was refused."); }
        if (!r.ok) throw new Error("The server answered " + r.status + ".");
        return r.json();
      })
      .then(function (data) { showError(""); render(data); setTimeout(poll, 2000); })
      .catch(function (err) {
        showError(err.message);
        if (sessionStorage.getItem(KEY)) setTimeout(poll, 5000);
        else document.getElementById("login").hidden = false;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tokenFromHash();
    document.getElementById("login").addEventListener("submit", function (ev) {
      ev.preventDefault();
      sessionStorage.setItem(KEY, document.getElementById("token").value.trim());
      document.getElementById("login").hidden = true;
      poll();
    });
    poll();
  });
})();
