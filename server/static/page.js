// Helpers shared by the incidents page's scripts (incidents, deflection, accounts, alerts, tuning, report; loaded
// first) and by the dashboard: the incident kinds' names, elements with text only, local times, dates and counts
// written one way, where a chart's labels fit, a sentence's UTC clocks, API calls with the tab's token whose
// errors name the problem and its fields (or say the server did not answer), buttons that act on a second click,
// and whether the detector is still reading a backlog.
(function () {
  "use strict";
  var KEY = "groundswell.token";
  // Where the page keeps the name given in "Your name" (localStorage) for its next visit: status changes,
  // feedback and backtests record who asked.
  var BY_KEY = "groundswell.by";

  // One name per incident kind, as the badges, the kind filter, the dashboard's topics, the webhooks' kinds and
  // the detection settings say it (server/incidents/settings.py KIND_NAMES; a test holds the two together).
  var KIND_NAMES = Object.freeze({ spike: "Spike", new_topic: "New topic", drop: "Drop", sentiment: "Sentiment",
                                   concentration: "Concentration", friction: "In-app friction" });
  // A kind's name; a kind this page does not know (a newer server's) as the API writes it.
  function kindName(kind) {
    if (Object.prototype.hasOwnProperty.call(KIND_NAMES, kind)) return KIND_NAMES[kind];
    return kind === null || kind === undefined ? "" : String(kind);
  }

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
      ? "today " + clock(iso) : when(iso);
  }
  function count(n, digits) {
    if (n === null || n === undefined || n === "" || isNaN(Number(n))) return "—";
    return Number(n).toLocaleString([], digits === undefined ? undefined
      : { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  // Where a chart drawn at the width it has puts its labels along its foot (the report's and the backtest's
  // week charts, their weeks' dates under the bars): from the last slot back, each slot whose middle
  // (middle(i), in px) is a label's width (room) clear of the next one kept, every label kept inside the
  // chart's right edge (right) and, but for 4 px of its padding, its left one. The latest slot is always
  // labelled. Returns [slot, x] pairs, latest first, for text anchored at its middle.
  function ticks(n, middle, right, room) {
    var out = [], next = Infinity;
    for (var i = n - 1; i >= 0; i--) {
      var x = Math.min(right - room / 2, Math.max(room / 2 - 4, middle(i)));
      if (next - x < room) continue;
      out.push([i, x]);
      next = x;
    }
    return out;
  }

  // An incident sentence's clocks, which the detector writes in UTC ("first seen 23:04 UTC", "in the hour from
  // 14:00 UTC"): each "HH:MM UTC" is replaced by show(at), at (ms since the epoch) being the moment with that clock
  // nearest the first-seen time; the text as it is without a readable first-seen time. Slack messages and the
  // Zendesk app read clocks by the same rule, checked against the same cases (tests/fixtures/utc_clock_cases.json).
  var CLOCK = /(^|[^A-Za-z0-9_:])([01][0-9]|2[0-3]):([0-5][0-9]) UTC\b/g, DAY = 86400000;
  function clocks(text, firstSeen, show) {
    var first = Date.parse(firstSeen || "");
    if (isNaN(first)) return text;
    return text.replace(CLOCK, function (_m, before, h, m) {  // before: kept (no lookbehind in older Safari)
      var d = new Date(first);
      d.setUTCHours(parseInt(h, 10), parseInt(m, 10), 0, 0);
      var best = [-1, 0, 1].map(function (k) { return d.getTime() + k * DAY; })
        .sort(function (a, b) { return Math.abs(a - first) - Math.abs(b - first); })[0];
      return before + show(best);
    });
  }

  // Why something sent to Slack or to a webhook did not arrive, in a sentence, from the error the server keeps
  // (its codes stay in the API and the logs): to is "slack", "webhook" or "pagerduty", status the receiver's
  // HTTP status and mode Slack's setting ("webhook" or "web_api"), each when known. A delivery the server
  // closed says so after the reason: "the receiver answered HTTP 503; gave up after 8 attempts", "…; not retried".
  var SLACK_ANSWERS = {
    timeout: "Slack did not answer in time",
    webhook_host_not_allowed: "the stored incoming webhook URL is not a Slack address this server may call",
    not_configured: "Slack is not fully set up: save its settings first",
    no_service: "Slack no longer knows this incoming webhook (it was removed, or its app uninstalled)",
    no_team: "the Slack workspace no longer exists", team_disabled: "the Slack workspace is disabled",
    invalid_auth: "Slack refused the bot token (revoked, expired or mistyped)", not_authed: "Slack got no bot token",
    token_revoked: "the bot token was revoked", token_expired: "the bot token has expired",
    account_inactive: "the bot's account is deactivated",
    missing_scope: "the bot token lacks permission to post (chat:write)",
    channel_not_found: "Slack cannot find the channel: check its name, and that the bot may see it",
    not_in_channel: "the bot is not a member of the channel: invite it there",
    channel_is_archived: "the channel is archived", is_archived: "the channel is archived",
    action_prohibited: "the workspace's admins do not allow this app to post there",
    restricted_action: "the workspace's admins do not allow this app to post there",
    ratelimited: "Slack asked to slow down: try again in a minute",
    rate_limited: "Slack asked to slow down: try again in a minute",
    bad_response: "Slack's answer could not be read"
  };
  function slackProblem(code, mode) {
    var http = /^http_(\d+)$/.exec(code), status = http ? Number(http[1]) : 0;
    if (/^connection_error/.test(code)) return "could not reach Slack (connection failed)";
    if (code === "invalid_token") {
      return mode === "webhook" ? "Slack refused the incoming webhook URL (revoked or mistyped)"
        : mode ? "Slack refused the bot token (revoked or mistyped)"
        : "Slack refused the incoming webhook URL or bot token (revoked or mistyped)";
    }
    if (Object.prototype.hasOwnProperty.call(SLACK_ANSWERS, code)) return SLACK_ANSWERS[code];
    if (status >= 500) return "Slack had a problem (HTTP " + status + "): try again later";
    if (status === 404) return "Slack does not know this address (HTTP 404): it was removed or mistyped";
    if (http) return "Slack answered HTTP " + http[1];
    return "Slack refused the message (" + (code.replace(/_/g, " ") || "no reason given") + ")";
  }
  function deliveryProblem(code, status, pagerduty) {
    var who = pagerduty ? "PagerDuty" : "the receiver", http = /^http_(\d+)$/.exec(code);
    switch (code) {
      case "timeout": return who + " did not answer in time";
      case "connection_error": return "could not reach " + who + " (connection failed)";
      case "address_not_allowed": return "its address is private or internal, which Groundswell does not call";
      case "https_required": return "its URL is not https, which this server requires";
      case "bad_url": return "its URL is not one Groundswell can call";
      case "unresolvable": return "its host name was not found";
      case "redirect_not_followed":
        return who + " answered with a redirect" + (status ? " (HTTP " + status + ")" : "") +
          ", which is not followed: give its final address";
      case "cannot_decrypt_secret":
        return "its stored secret cannot be read (the server's SECRET_KEY changed): remove the webhook and add it again";
      case "event_missing": return "the incident it was about no longer exists";
      case "unserialisable_body": return "the event could not be written as JSON";
      case "http_429": return who + " asked to slow down (HTTP 429)";
    }
    if (http && pagerduty && http[1] === "400") return "PagerDuty refused the event (HTTP 400): check the integration key";
    if (http) return who + " answered HTTP " + http[1];
    return "the connection failed (" + (code.replace(/_/g, " ") || "no reason given") + ")";
  }
  function problem(error, to, status, mode) {
    var text = String(error || ""), closed = /^(gave up after \d+ attempts|not retried): (.*)$/.exec(text);
    var code = closed ? closed[2] : text;
    var why = to === "slack" ? slackProblem(code, mode) : deliveryProblem(code, status, to === "pagerduty");
    return closed ? why + "; " + closed[1] : why;
  }

  function fieldText(v) {
    return Array.isArray(v) ? v.join(", ") : v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
  }

  // --- a server that does not answer ------------------------------------------------------------
  // A request that never reached the server (it is down, or the network is: fetch rejects with a TypeError)
  // fails with the Zendesk sidebar's words (zendesk_app/translations/en.json, sidebar.error.network) instead of
  // the browser's ("Failed to fetch", "Load failed"), and carries unreachable: true and status 0. The pages
  // send every request through request(), and word what failed with stale() and notSaved().
  var NO_ANSWER = "the Groundswell server did not answer";
  var UNREACHABLE = "The Groundswell server did not answer. Check that it is running and reachable.";
  function request(path, options) {
    return fetch(path, options).catch(function (cause) {
      if (!cause || cause.name !== "TypeError") throw cause;  // an aborted request stays one
      var e = new Error(UNREACHABLE);
      e.unreachable = true;
      e.status = 0;
      throw e;
    });
  }

  // A time of day alone ("10:36 PM", "22:36"), as when writes the time of a date.
  function clock(t) { return new Date(t).toLocaleTimeString([], { hour: WHEN.hour, minute: WHEN.minute }); }

  // A refresh that failed, over what the page still shows from its last answer (received at `at`, ms since the
  // epoch): "Could not refresh; showing what it said at 10:36 PM. The Groundswell server did not answer. …"
  // (the sidebar's "Could not refresh; showing the last answer.", with when).
  function stale(err, at) {
    var d = new Date(at), today = d.toDateString() === new Date().toDateString();
    return "Could not refresh; showing what it said " + (today ? "at " + clock(at) : "on " + when(d.toISOString())) +
      ". " + ((err && err.message) || "");
  }

  // A change a person asked for that did not reach the server: "Acknowledge was not saved: the Groundswell server
  // did not answer. Try again." (what: the action's name). Refused by the server, it says the server's reason.
  function notSaved(what, err) {
    return err && err.unreachable ? what + " was not saved: " + NO_ANSWER + ". Try again." : (err && err.message) || "";
  }

  // --- the detector's backlog -----------------------------------------------------------------------
  // Whether the detector is still reading a backlog, from GET /api/v1/status: a history import (a Zendesk
  // backfill, the demo's fifteen days), or a detector that was away. No incident can have been found yet in
  // what it has still to read, so while this holds the dashboard and the incidents page say "still reading"
  // and never "nothing unusual" or "All quiet"; both decide it here, from the same answer, the same way.
  // It holds while
  //  - more than BACKLOG events wait for the detector (a live one keeps its backlog to a handful), or
  //  - the oldest of them has waited more than BEHIND_SECONDS (a detector that stopped: few events, but old), or
  //  - tickets arrived in bulk in the last BULK_MINUTES minutes of the Zendesk source's series (the last 60
  //    minutes, by receive time, counted once the detector has read them): a minute of at least BULK_EVENTS
  //    events and ten times its quiet minutes (the hour's lower quartile). Only tickets are imported as
  //    history in bulk; a busy minute of the widget on a busy site is live traffic, not a backlog.
  // An import arrives in bursts (Zendesk's export: a page of up to 1,000 tickets every 6 seconds, and a
  // minute's pause after a 429; the demo: as fast as the server takes them), between which the detector
  // catches up for a moment: the pending count alone would flip the pages between "still reading" and "all
  // quiet" with every burst. The series keeps the bursts' minutes, so the pages say "still reading" until
  // history has stopped arriving for BULK_MINUTES. A tenant's ordinary busy minutes (and the demo's live
  // stream, a few hundred events a minute) stay under the bar. An import that fills three quarters of the hour
  // becomes the hour's quiet minutes: from then on, only its pending events keep the pages on "still reading".
  // Returns null when the detector has caught up, else { pending: events to go, arrivedAt: the latest bulk
  // minute (ISO) or null, bySource: the events to go by source }.
  var BACKLOG = 100, BEHIND_SECONDS = 60, BULK_EVENTS = 1000, BULK_MINUTES = 5;
  function reading(status) {
    var d = status && status.detector;
    if (!d) return null;
    var pending = Number(d.pending_events) || 0, arrivedAt = null;
    (status.sources || []).forEach(function (s) {
      if (s.source !== "zendesk") return;
      var series = Array.isArray(s.series) ? s.series : [];
      var counts = series.map(function (p) { return Number(p.count) || 0; }).sort(function (a, b) { return a - b; });
      var quiet = counts.length ? counts[Math.floor((counts.length - 1) / 4)] : 0;
      series.slice(-BULK_MINUTES).forEach(function (p) {
        if (p.count >= BULK_EVENTS && p.count >= 10 * quiet &&
            (!arrivedAt || Date.parse(p.minute) > Date.parse(arrivedAt))) arrivedAt = p.minute;
      });
    });
    if (pending <= BACKLOG && !(d.lag_seconds > BEHIND_SECONDS) && !arrivedAt) return null;
    return { pending: pending, arrivedAt: arrivedAt, bySource: d.pending_by_source || {} };
  }

  // The events to go as a person reads them: "2,684 events to go", and where they come from when more than one
  // source has some ("2,684 events to go: 2,100 from Zendesk and 584 from the widget").
  var FROM = { zendesk: "from Zendesk", widget: "from the widget" };
  function toGo(backlog) {
    var by = backlog.bySource || {};
    var parts = ["zendesk", "widget", "control"].filter(function (k) { return Number(by[k]) > 0; }).map(function (k) {
      return count(by[k]) + " " + (FROM[k] || (Number(by[k]) === 1 ? "change made by a person" : "changes made by people"));
    });
    var said = count(backlog.pending) + " events to go";
    return parts.length < 2 ? said : said + ": " + parts.slice(0, -1).join(", ") + " and " + parts[parts.length - 1];
  }

  // What the history the detector reads holds: named by the sources of the events still to read when the
  // status gives them ("the ticket history", "the in-app history"), else by the tenant's sources: "the history
  // of tickets and in-app events" for a tenant with both (Zendesk and the widget), else "the history".
  function historyWords(status) {
    var by = status && status.detector && status.detector.pending_by_source || {};
    var tickets = Number(by.zendesk) > 0, inApp = Number(by.widget) > 0;
    if (tickets !== inApp) return tickets ? "the ticket history" : "the in-app history";
    var names = (status && status.sources || []).map(function (s) { return s && s.source; });
    return names.indexOf("zendesk") >= 0 && names.indexOf("widget") >= 0
      ? "the history of tickets and in-app events" : "the history";
  }

  // extra (optional): headers to send, and seen(response), called with every answer (to read its headers).
  function call(method, path, body, extra) {
    var options = { method: method, headers: Object.assign({ Authorization: "Bearer " + sessionStorage.getItem(KEY) },
                                                           extra && extra.headers) };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return request(path, options).then(function (r) {
      if (extra && extra.seen) extra.seen(r);
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

  // A button for a change people cannot easily take back (a banner customers read taken down, a webhook
  // removed, a mute ended), made on its second click so that a slip makes none: the first click arms it and it
  // says confirmLabel ("Remove? Click again"); the second runs action(), which returns a promise. The button is
  // off while that runs, and on again if it fails, failed(err) saying why (it stays armed: one more click tries
  // again). extra (optional): ready(), false while a click must wait (the section saves one change at a time):
  // a click then does nothing.
  function twoClick(label, confirmLabel, action, failed, extra) {
    var b = el("button", "secondary", label);
    b.type = "button";
    b.addEventListener("click", function () {
      if (extra && extra.ready && !extra.ready()) return;
      if (b.dataset.armed !== "1") {
        b.dataset.armed = "1";
        b.textContent = confirmLabel;
        return;
      }
      b.disabled = true;
      action().catch(function (err) { b.disabled = false; failed(err); });
    });
    return b;
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

  // The page's own contents (nav.page-nav, the incidents page's header): a link to each of its sections, shown
  // while that section is (sections appear once the token is given and their first answer is in; the nav once
  // one of them has). A link scrolls its section into view and gives the keyboard to its heading without
  // touching the address's fragment, which holds the open incident (#id=); an address naming a section
  // (/incidents#alerts, from the dashboard) scrolls to it once it appears.
  function go(section) {
    var heading = section.querySelector("h2");
    section.scrollIntoView({ block: "start" });
    if (heading) {
      if (!heading.hasAttribute("tabindex")) heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
  // Gone to as the page opens, a section stays in view while the sections above it appear and grow (for a few
  // seconds, until the person scrolls, clicks or types).
  function stay(section) {
    go(section);
    if (typeof ResizeObserver !== "function") return;
    var EVENTS = ["wheel", "touchstart", "keydown", "mousedown"];
    var follow = new ResizeObserver(function () { section.scrollIntoView({ block: "start" }); });
    function quit() {
      follow.disconnect();
      EVENTS.forEach(function (e) { window.removeEventListener(e, quit, true); });
    }
    EVENTS.forEach(function (e) { window.addEventListener(e, quit, true); });
    follow.observe(document.body);
    setTimeout(quit, 5000);
  }
  // A section asked for before it appears (a link clicked while its first answer is still on its way) is gone to
  // when it does, unless the person has moved on (scrolled, clicked or typed) or asked for another one meanwhile;
  // either way it then stays in view while sections above it appear (stay).
  var waiting = null;
  function visible(section) { return !section.closest("[hidden]"); }
  function goToSection(id) {
    var section = document.getElementById(id);
    if (waiting) waiting();
    if (!section) return;
    if (visible(section)) { stay(section); return; }
    var EVENTS = ["wheel", "touchstart", "keydown", "mousedown"];
    var watch = new MutationObserver(function () {
      if (!visible(section)) return;
      quit();
      setTimeout(function () { stay(section); }, 0);  // after the section's first drawing
    });
    function quit() {
      watch.disconnect();
      EVENTS.forEach(function (e) { window.removeEventListener(e, quit, true); });
      if (waiting === quit) waiting = null;
    }
    for (var n = section; n && n !== document.body; n = n.parentElement) {
      watch.observe(n, { attributes: true, attributeFilter: ["hidden"] });
    }
    EVENTS.forEach(function (e) { window.addEventListener(e, quit, true); });
    waiting = quit;
  }
  function sectionNav(nav) {
    var links = Array.prototype.slice.call(nav.querySelectorAll('a[href^="#"]'));
    var wanted = location.hash.length > 1 && location.hash.indexOf("=") < 0 ? location.hash.slice(1) : null;
    function target(a) { return document.getElementById(a.getAttribute("href").slice(1)); }
    function sync() {
      var any = false;
      links.forEach(function (a) {
        var section = target(a), shown = !!section && visible(section);
        a.hidden = !shown;
        any = any || shown;
        if (shown && wanted && section.id === wanted) {
          wanted = null;
          setTimeout(function () { stay(section); }, 0);  // after the section's first drawing
        }
      });
      nav.hidden = !any;
    }
    links.forEach(function (a) {
      a.addEventListener("click", function (ev) {
        var section = target(a);
        if (!section) return;
        ev.preventDefault();
        stay(section);
      });
    });
    var watch = new MutationObserver(sync);
    links.forEach(function (a) {
      var section = target(a);
      for (var n = section; n && n !== document.body; n = n.parentElement) {
        watch.observe(n, { attributes: true, attributeFilter: ["hidden"] });
      }
    });
    sync();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("nav.page-nav").forEach(sectionNav);
  });

  // How people read each friction signal (as server/widget/features.py SIGNAL_NOUNS).
  var SIGNAL_NOUNS = Object.freeze({ failed_request: "failed requests", rage_click: "rage clicks", dead_click: "dead clicks",
                       error_click: "error clicks", js_error: "JavaScript errors", form_error: "rejected form submits",
                       form_abandon: "abandoned flows" });

  // A figure to 2 decimals; one above nothing never reads "0" ("under 0.01", as the friction sentence says it).
  function num(n) {
    if (n === null || n === undefined || n === "") return "—";
    if (typeof n !== "number") return String(n);
    if (n > 0 && n < 0.005) return "under 0.01";
    return (Math.round(n * 100) / 100).toLocaleString();
  }

  window.GS = { el: el, when: when, day: day, recent: recent, count: count, ticks: ticks, clocks: clocks, call: call,
                say: say, onToken: onToken, tokenGiven: tokenGiven, hasToken: function () { return !!sessionStorage.getItem(KEY); } };
  window.GS.problem = problem;
  window.GS.KIND_NAMES = KIND_NAMES;
  window.GS.kindName = kindName;
  window.GS.SIGNAL_NOUNS = SIGNAL_NOUNS;
  window.GS.num = num;
  window.GS.BY_KEY = BY_KEY;
  window.GS.TOKEN_KEY = KEY;  // the API token, in the tab's session storage (every page script reads it here)
  // A pasted token as the server can be sent it: trimmed; null when it holds a character no token has (a
  // space, a curly quote or an ellipsis picked up in copying), which a browser cannot even put in a header.
  window.GS.pastedToken = function (text) {
    var token = String(text || "").trim();
    return /^[\x21-\x7e]+$/.test(token) ? token : null;
  };
  window.GS.BAD_TOKEN = "That is not an API token: it has a character tokens never have (a space, a curly quote or " +
    "\u2026 from copying?). Paste the tenant's token (gs_sk_\u2026) again.";
  // What a refused API token is told, on every page: the server's reason and where a token comes from.
  window.GS.tokenRefused = function (reason) {
    return "That API token was not accepted: " + String(reason || "401 Unauthorized").replace(/\.$/, "") +
      ". Paste the tenant's token (gs_sk_…) again: `groundswell demo` prints the demo's, and " +
      "`groundswell tenant rotate SLUG --api-token` makes a new one.";
  };
  window.GS.goToSection = goToSection;
  window.GS.twoClick = twoClick;
  window.GS.request = request;
  window.GS.UNREACHABLE = UNREACHABLE;
  window.GS.clock = clock;
  window.GS.stale = stale;
  window.GS.notSaved = notSaved;
  window.GS.reading = reading;
  window.GS.historyWords = historyWords;
  window.GS.toGo = toGo;
})();
