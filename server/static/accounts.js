// Incidents page, accounts section: Zendesk organizations and product accounts whose tickets or usage
// changed against their own past (GET /api/v1/accounts/changes), over a week or four. Same token as the
// incidents list; everything is rendered as text, in words a support lead reads without statistics (the
// figures behind them stay in the rows' titles and under "How accounts are flagged").
(function () {
  "use strict";
  var DAYS_KEY = "groundswell.accounts.days";
  var state = { days: parseInt(localStorage.getItem(DAYS_KEY) || "1", 10) || 1, asked: 0 };

  function cell(tr, text, header, label) {
    var td = document.createElement(header ? "th" : "td");
    if (header) td.scope = header;
    if (label) td.dataset.label = label;  // shown before the value when a phone stacks the row (app.css)
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  var count = GS.count;

  // How clearly a flagged change stands out, in words, from its q-value (the share of chance findings
  // expected among changes at least this clear); every flagged account's is at most the report's fdr.
  function sureness(q) {
    return q < 0.001 ? "almost certain" : q < 0.01 ? "very likely" : "likely";
  }
  function qText(q) { return q < 0.001 ? "below 0.001" : q.toFixed(3); }
  function percent(x) { return (Math.round(x * 1000) / 10).toLocaleString() + "%"; }

  function change(a) {
    if (a.ratio === null || a.ratio === undefined) return "new";
    return a.direction === "up" ? a.ratio.toFixed(1) + "x" : Math.round((a.ratio - 1) * 100) + "%";
  }

  function past(a) {
    return Array.isArray(a.history) ? a.history.map(function (n) { return count(n); }).join(", ") : "";
  }

  // The rule behind the flags, with its figures, for whoever wants them.
  function how(r) {
    var box = document.createElement("details");
    box.className = "hint accounts-how";
    var summary = document.createElement("summary");
    summary.textContent = "How accounts are flagged";
    var text = document.createElement("p");
    text.textContent = "An account is listed when its change is large, at least " + r.min_ratio + " times the " +
      "expected count or at most " + percent(1 / r.min_ratio) + " of it, and unlikely to be chance: of all the " +
      "accounts listed, no more than " + percent(r.fdr) + " are expected to be false alarms. How sure: almost " +
      "certain when that share, for changes at least as clear as this one, is below 0.1% (a q-value below 0.001), " +
      "very likely below 1%, likely up to " + percent(r.fdr) + ". Each row's q-value is in its How sure cell's tooltip.";
    box.appendChild(summary);
    box.appendChild(text);
    return box;
  }

  function render(box, r) {
    var intro = document.createElement("p");
    var tested = r.tested || {};
    intro.textContent = (r.days === 1 ? "The last day, compared with the same weekday in up to " + r.weeks + " weeks before"
      : r.days < 7 ? "The last " + r.days + " days, compared with the same days in up to " + r.weeks + " weeks before"
      : "The last " + r.days + " days, compared with up to " + r.weeks + " stretches of " + r.days + " days before them") +
      ". Each account is compared with its own past, allowing for how busy all your customers were: when everyone " +
      "writes more (an outage, a launch), no one account stands out for it. Checked: " +
      count(tested.tickets || 0) + " organizations (their tickets) and " + count(tested.users || 0) +
      " product accounts (their sessions and active users).";
    if (!r.accounts.length) {
      var none = document.createElement("p");
      none.className = "hint";
      var testedAny = (tested.tickets || 0) + (tested.users || 0) + (tested.sessions || 0) > 0;
      none.textContent = testedAny ? "No account changed more than its own ups and downs allow."
        : "Not enough history for this window yet: an account is judged once it has data in two earlier periods like this one" +
          (r.days < 7 ? " (the same days of the two weeks before)." : " (" + 3 * r.days + " days in all).");
      box.replaceChildren(intro, none);
      return;
    }
    var table = document.createElement("table");
    table.className = "accounts stack";
    var head = document.createElement("tr");
    head.className = "head";
    var COLUMNS = ["What", "Account", "Now", "Expected", "Change", "Before (oldest first)", "How sure"];
    COLUMNS.forEach(function (h) { cell(head, h, "col"); });
    table.appendChild(head);
    r.accounts.forEach(function (a) {
      var tr = document.createElement("tr");
      tr.className = "account-row " + (a.direction === "up" ? "up" : "down");
      tr.title = a.sentence;
      cell(tr, a.label, "row");
      cell(tr, (a.source === "organization" ? "Organization " : "Account ") +
        (typeof a.name === "string" && a.name ? a.name + " (" + a.account_id + ")" : a.account_id));  // it says what it is
      cell(tr, count(a.observed), null, COLUMNS[2]);
      cell(tr, count(a.expected, 1), null, COLUMNS[3]);
      cell(tr, change(a), null, COLUMNS[4]);
      cell(tr, past(a), null, COLUMNS[5]);
      var sure = cell(tr, sureness(a.q_value), null, COLUMNS[6]);
      sure.className = "sureness";
      sure.title = "q-value " + qText(a.q_value) + ": of the changes at least this clear, the share expected to be chance";
      table.appendChild(tr);
    });
    var note = document.createElement("p");
    note.className = "hint";
    note.textContent = "Expected: what the account would have had if it had gone up or down as much as all your " +
      "other customers together.";
    box.replaceChildren(intro, table, note, how(r));
  }

  var DAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"];

  // One line on the weekly Slack digest: when it goes out and how the last one went.
  function digestLine(s) {
    var d = s && s.accounts_digest;
    if (!d) return "Weekly digest to Slack: off.";
    var hour = two(d.hour) + ":00 UTC";
    var text = "Weekly digest to Slack: " + (DAYS[d.weekday] || "?") + " at " + hour + ", the last 7 days.";
    var last = s.accounts_digest_last;
    if (last && last.sent_at) {
      text += " Last sent " + GS.when(last.sent_at) + " (" + count(last.accounts) + " account" +
        (last.accounts === 1 ? "" : "s") + ").";
    } else if (last && last.error) {
      text += " Not sent on " + GS.when(last.slot) + ": " +
        (last.error === "late" ? "the detector was not running at the time." :
         last.error === "not_configured" ? "Slack is not configured." : GS.problem(last.error, "slack") + ".");
    }
    return text;
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  // The digest's hour is kept in UTC; each choice also says what it is in the reader's zone.
  function hourLabel(h) {  // as of today: a zone's offset moves with daylight saving
    var now = new Date(), d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h));
    var local = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return two(h) + ":00 UTC" + (d.getHours() === h && d.getMinutes() === 0 ? "" : " (" + local + " here)");
  }

  // The schedule form: only the digest changes; off while Slack is not set up, since the digest is posted there.
  var digest = { off: true, editing: false, asked: 0 };

  function fillDigestForm(s) {
    var form = document.getElementById("digest-form");
    if (!form) return;
    var day = document.getElementById("digest-day"), hour = document.getElementById("digest-hour");
    if (!hour.options.length) {
      for (var h = 0; h < 24; h++) hour.appendChild(new Option(hourLabel(h), String(h)));
    }
    var off = digest.off = !s || !s.mode || s.mode === "off";
    form.hidden = false;
    day.disabled = hour.disabled = document.getElementById("digest-save").disabled = off;
    if (off) GS.say("digest-status", "Set up Slack under \u201cWhere alerts go\u201d to post the digest there.");
    if (digest.editing) return;  // a choice not saved yet is not undone by a refresh
    var d = s && s.accounts_digest;
    day.value = d ? String(d.weekday) : "";
    hour.value = String(d ? d.hour : 9);
    hour.disabled = hour.disabled || !d;
  }

  function saveDigest(ev) {
    ev.preventDefault();
    var day = document.getElementById("digest-day").value, hour = document.getElementById("digest-hour").value;
    // the schedule alone: Slack's mode stays as stored (it may have changed in "Where alerts go" since)
    var body = { accounts_digest: day === "" ? null : { weekday: parseInt(day, 10), hour: parseInt(hour, 10) } };
    var button = document.getElementById("digest-save");
    button.disabled = true;
    GS.call("PUT", "/api/v1/settings/notifications", body)
      .then(function (s) {
        digest.asked += 1;  // the readings under way were asked for before this answer: theirs are older
        digest.editing = false;
        GS.say("digest-status", body.accounts_digest ? "Saved." : "Saved: no digest.");
        document.getElementById("accounts-digest").textContent = digestLine(s);
        fillDigestForm(s);
      })
      .catch(function (err) { GS.say("digest-status", "Not saved: " + err.message, true); })
      .then(function () { button.disabled = digest.off; });
  }

  // Readings are numbered: one that answers after a later one was asked for (the window picked twice in a
  // row, the refresh crossing a pick) or after the schedule was saved is dropped, so the table is the window
  // picked last and the digest's line and form the schedule as last saved.
  function loadDigest() {
    var line = document.getElementById("accounts-digest");
    if (!line) return;
    var mine = ++digest.asked;
    GS.call("GET", "/api/v1/settings/notifications")
      .then(function (s) { if (mine === digest.asked) { line.textContent = digestLine(s); fillDigestForm(s); } })
      .catch(function () { if (mine === digest.asked) line.textContent = ""; });
  }

  function load() {
    var box = document.getElementById("accounts-body");
    if (!box || !GS.hasToken()) return;
    var mine = ++state.asked;
    GS.call("GET", "/api/v1/accounts/changes?days=" + state.days)
      .then(function (r) {
        if (mine !== state.asked) return;
        render(box, r);
        document.getElementById("accounts").hidden = false;
      })
      .catch(function (err) {
        if (mine === state.asked) box.textContent = "Could not load the account changes: " + err.message;
      });
    loadDigest();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var picker = document.getElementById("accounts-days");
    if (picker) {
      picker.value = String(state.days);
      if (picker.value !== String(state.days)) { state.days = 1; picker.value = "1"; }
      picker.addEventListener("change", function () {
        state.days = parseInt(picker.value, 10) || 1;
        localStorage.setItem(DAYS_KEY, String(state.days));
        load();
      });
    }
    var form = document.getElementById("digest-form");
    if (form) {
      form.addEventListener("submit", saveDigest);
      form.addEventListener("change", function () {
        digest.editing = true;
        document.getElementById("digest-hour").disabled = document.getElementById("digest-day").value === "";
        GS.say("digest-status", "");
      });
    }
    load();
    GS.onToken(load);
    setInterval(load, 300000);
  });
})();
