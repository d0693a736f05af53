// Incidents page, accounts section: Zendesk organizations and product accounts whose tickets or usage
// changed against their own past (GET /api/v1/accounts/changes), over a week or four. Same token as the
// incidents list; everything is rendered as text.
(function () {
  "use strict";
  var DAYS_KEY = "groundswell.accounts.days";
  var state = { days: parseInt(localStorage.getItem(DAYS_KEY) || "1", 10) || 1 };

  function cell(tr, text, header) {
    var td = document.createElement(header ? "th" : "td");
    if (header) td.scope = header;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function change(a) {
    if (a.ratio === null || a.ratio === undefined) return "new";
    return a.direction === "up" ? a.ratio.toFixed(1) + "x" : Math.round((a.ratio - 1) * 100) + "%";
  }

  function past(a) {
    return Array.isArray(a.history) ? a.history.join(", ") : "";
  }

  function render(box, r) {
    var intro = document.createElement("p");
    var tested = r.tested || {};
    intro.textContent = (r.days === 1 ? "The last day against the same weekday of the weeks before"
      : r.days < 7 ? "The last " + r.days + " days against the same days of the weeks before"
      : "The last " + r.days + " days against the " + r.days + "-day windows before") +
      " (up to " + r.weeks + "), each account beside the rest of the tenant. Tested: " +
      (tested.tickets || 0) + " organizations (tickets), " + (tested.users || 0) + " product accounts (sessions and active users).";
    if (!r.accounts.length) {
      var none = document.createElement("p");
      none.className = "hint";
      var testedAny = (tested.tickets || 0) + (tested.users || 0) + (tested.sessions || 0) > 0;
      none.textContent = testedAny ? "No account changed more than its own ups and downs allow."
        : "Not enough history for this window yet: an account is judged once two past windows of it hold data" +
          (r.days < 7 ? " (the same days of the two weeks before)." : " (" + 3 * r.days + " days in all).");
      box.replaceChildren(intro, none);
      return;
    }
    var table = document.createElement("table");
    table.className = "accounts";
    var head = document.createElement("tr");
    ["What", "Account", "Now", "Expected", "Change", "Past windows", "q"].forEach(function (h) { cell(head, h, "col"); });
    table.appendChild(head);
    r.accounts.forEach(function (a) {
      var tr = document.createElement("tr");
      tr.className = "account-row " + (a.direction === "up" ? "up" : "down");
      tr.title = a.sentence;
      cell(tr, a.label, "row");
      cell(tr, (a.source === "organization" ? "Organization " : "Account ") +
        (typeof a.name === "string" && a.name ? a.name + " (" + a.account_id + ")" : a.account_id));
      cell(tr, String(a.observed));
      cell(tr, a.expected.toFixed(1));
      cell(tr, change(a));
      cell(tr, past(a));
      cell(tr, a.q_value < 0.001 ? "< 0.001" : a.q_value.toFixed(3));
      table.appendChild(tr);
    });
    var note = document.createElement("p");
    note.className = "hint";
    note.textContent = "Expected: what the account would have had had it moved as the rest of the tenant did. " +
      "q: the false-discovery rate at which the change stands (flags at " + r.fdr + " or below, and " + r.min_ratio +
      "x or more either way).";
    box.replaceChildren(intro, table, note);
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
      text += " Last sent " + new Date(last.sent_at).toLocaleString() + " (" + last.accounts + " account" +
        (last.accounts === 1 ? "" : "s") + ").";
    } else if (last && last.error) {
      text += " Not sent on " + new Date(last.slot).toLocaleString() + ": " +
        (last.error === "late" ? "the detector was not running at the time." :
         last.error === "not_configured" ? "Slack is not configured." : "Slack answered " + last.error + ".");
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
  var digest = { off: true, editing: false };

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
        digest.editing = false;
        GS.say("digest-status", body.accounts_digest ? "Saved." : "Saved: no digest.");
        document.getElementById("accounts-digest").textContent = digestLine(s);
        fillDigestForm(s);
      })
      .catch(function (err) { GS.say("digest-status", "Not saved: " + err.message, true); })
      .then(function () { button.disabled = digest.off; });
  }

  function loadDigest() {
    var line = document.getElementById("accounts-digest");
    if (!line) return;
    GS.call("GET", "/api/v1/settings/notifications")
      .then(function (s) { line.textContent = digestLine(s); fillDigestForm(s); })
      .catch(function () { line.textContent = ""; });
  }

  function load() {
    var box = document.getElementById("accounts-body");
    if (!box || !GS.hasToken()) return;
    GS.call("GET", "/api/v1/accounts/changes?days=" + state.days)
      .then(function (r) { render(box, r); document.getElementById("accounts").hidden = false; })
      .catch(function (err) { box.textContent = "Could not load the account changes: " + err.message; });
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
