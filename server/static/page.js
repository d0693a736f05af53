// Helpers shared by the incidents page's section scripts (deflection, accounts, alerts, tuning; loaded first): elements with text only, local
// times and a sentence's UTC clocks, and API calls with the tab's token whose errors name the problem and its fields.
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

  window.GS = { el: el, when: when, clocks: clocks, call: call, say: say, onToken: onToken, tokenGiven: tokenGiven,
                hasToken: function () { return !!sessionStorage.getItem(KEY); } };
})();
