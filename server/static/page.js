// Helpers shared by the incidents page's section scripts (deflection, accounts, alerts, tuning; loaded first) and by
// the dashboard: elements with text only, local times, dates and counts written one way, a sentence's UTC clocks,
// and API calls with the tab's token whose errors name the problem and its fields.
(function () {
  "use strict";
  var KEY = "groundswell.token";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // A time in the reader's zone and locale, to the minute (seconds were noise beside minutes-long windows).
  var WHEN = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  function when(iso) { return iso ? new Date(iso).toLocaleString([], WHEN) : "—"; }

  // The rest of the pages' numbers and dates are written in when's style too: a date alone as when writes
  // it ("Nov 9, 2026" in English), in the reader's zone or in the one given ("UTC" for the report's weeks);
  // a moment of today as its clock, to the minute, after "today"; a count with the reader's thousands
  // separators ("1,986"), to the given decimals when there are any.
  var DATE = { year: "numeric", month: "short", day: "numeric" };
  function day(iso, timeZone) {
    if (!iso) return "—";
    return new Date(iso).toLocaleDateString([], timeZone ? Object.assign({ timeZone: timeZone }, DATE) : DATE);
  }
  function recent(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    return d.toDateString() === new Date().toDateString()
      ? "today " + d.toLocaleTimeString([], { hour: WHEN.hour, minute: WHEN.minute }) : when(iso);
  }
  function count(n, digits) {
    if (n === null || n === undefined || n === "" || isNaN(Number(n))) return "—";
    return Number(n).toLocaleString([], digits === undefined ? undefined
      : { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  // An incident sentence's clocks, which the detector writes in UTC ("first seen 23:04 UTC", "in the hour from
  // 14:00 UTC"): each "HH:MM UTC" is replaced by show(at), at (ms since the epoch) being the moment with that clock
  // nearest the first-seen time; the text as it is without a readable first-seen time. Slack messages and the
  // Zendesk app read clocks by the same rule, checked against the same cases (tests/fixtures/utc_clock_cases.json).
  var CLOCK = /\b([01][0-9]|2[0-3]):([0-5][0-9]) UTC\b/g, DAY = 86400000;
  function clocks(text, firstSeen, show) {
    var first = Date.parse(firstSeen || "");
    if (isNaN(first)) return text;
    return text.replace(CLOCK, function (_m, h, m) {
      var d = new Date(first);
      d.setUTCHours(parseInt(h, 10), parseInt(m, 10), 0, 0);
      var best = [-1, 0, 1].map(function (k) { return d.getTime() + k * DAY; })
        .sort(function (a, b) { return Math.abs(a - first) - Math.abs(b - first); })[0];
      return show(best);
    });
  }

  function fieldText(v) {
    return Array.isArray(v) ? v.join(", ") : v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
  }

  function call(method, path, body) {
    var options = { method: method, headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) return data;
        var err = data && data.error;
        var e = new Error(((err && err.message) || ("HTTP " + r.status)) + (err && err.fields ? " " +
          Object.keys(err.fields).map(function (k) { return k + ": " + fieldText(err.fields[k]); }).join("; ") : ""));
        e.status = r.status;
        e.fields = err && err.fields;
        throw e;
      });
    });
  }

  // A section's status line: the text, styled as an error or a hint, hidden when empty.
  function say(id, text, bad) {
    var m = document.getElementById(id);
    m.textContent = text || "";
    m.className = bad ? "detail-error" : "hint";
    m.hidden = !text;
  }

  // The sections load when the page opens with a token, and again when one is given in the login form.
  function onToken(fn) { document.addEventListener("gs-token", function () { fn(); }); }
  function tokenGiven() { document.dispatchEvent(new Event("gs-token")); }

  window.GS = { el: el, when: when, day: day, recent: recent, count: count, clocks: clocks, call: call, say: say,
                onToken: onToken, tokenGiven: tokenGiven, hasToken: function () { return !!sessionStorage.getItem(KEY); } };
})();
