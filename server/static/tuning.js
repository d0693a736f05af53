// Incidents page, "Detection settings": the stored settings in a form; "Try these settings" asks the
// detector for a backtest (POST /api/v1/backtests), follows its progress, and shows what the stored
// settings and the proposed ones would have opened, week by week and incident by incident, with how people
// rated the real incidents; "Save settings" applies them (PATCH /api/v1/settings/detection, and the in-app
// friction row through PATCH /api/v1/settings/widget); "Use these settings" puts a finished backtest's in the form.
(function () {
  "use strict";
  // The browser's validation messages end with a full stop in some languages and not in others.
  function sentence(text) { return /[.!?]$/.test(text) ? text : text + "."; }

  var el = GS.el, when = GS.when, call = GS.call;
  var SVG = "http://www.w3.org/2000/svg";
  var kindName = GS.kindName;  // one name per kind, as the badges and the kind filter say it (page.js)
  // The kinds with a sensitivity; in-app friction has its own row (the widget's settings).
  var KINDS = ["spike", "new_topic", "drop", "sentiment", "concentration"].map(function (k) { return [k, kindName(k)]; });
  // The in-app friction row: the widget's page detectors (server/widget/settings.py FrictionSettings).
  var FRICTION = [["weekly_false_alarms", "tune-friction-alarms"], ["min_sessions", "tune-friction-sessions"]];
  var stored = null;
  var storedFriction = null;  // the stored widget settings' friction; null when they could not be read
  var polling = null;

  function $(id) { return document.getElementById(id); }

  function message(text, bad) { GS.say("tuning-message", text, bad); }

  // --- the form ---------------------------------------------------------------------------------
  function buildKinds() {
    var box = $("tune-kinds");
    KINDS.forEach(function (k) {
      var label = el("label", null, k[1]);
      label.htmlFor = "tune-kind-" + k[0];
      var input = el("input");
      input.id = "tune-kind-" + k[0];
      input.type = "number"; input.min = "0"; input.max = "100"; input.step = "0.1"; input.required = true;
      input.dataset.kind = k[0];
      box.appendChild(label);
      box.appendChild(input);
    });
    buildFriction();
  }

  // In-app friction is tuned in its own units (false alarms a week over all pages, fewest sessions on a page),
  // beside the kinds' multipliers.
  function buildFriction() {
    var set = el("fieldset");
    set.id = "tune-friction";
    set.hidden = true;  // until the widget settings are read
    var legend = el("legend", null, kindName("friction") + " ");
    legend.appendChild(el("span", "hint", "(pages where the widget's sessions fail far more than usual)"));
    set.appendChild(legend);
    [["tune-friction-alarms", "False alarms a week, all pages together", "0.01", "50", "0.01"],
     ["tune-friction-sessions", "Fewest sessions meeting it on a page", "1", "1000", "1"]].forEach(function (f) {
      var label = el("label", null, f[1]);
      label.htmlFor = f[0];
      var input = el("input");
      input.id = f[0];
      input.type = "number"; input.min = f[2]; input.max = f[3]; input.step = f[4]; input.required = true;
      set.appendChild(label);
      set.appendChild(input);
    });
    $("tune-kinds").after(set);
  }

  // Plan tiers: one row each (its multiplier and Remove), in the form until saved or reset.
  function planRows(plans) {
    var box = $("tune-plan-rows");
    box.replaceChildren();
    Object.keys(plans).sort().forEach(function (name) {
      var label = el("label", null, "Plan " + name);
      var input = el("input");
      input.type = "number"; input.min = "0"; input.max = "100"; input.step = "0.1"; input.required = true;
      input.value = String(plans[name]);
      input.dataset.plan = name;
      input.id = "tune-plan-" + Object.keys(plans).sort().indexOf(name);
      label.htmlFor = input.id;
      var remove = el("button", "secondary", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove plan " + name);
      remove.addEventListener("click", function () {
        var now = currentPlans();
        delete now[name];
        planRows(now);
      });
      var cell = el("span", "plan-add");
      cell.appendChild(input);
      cell.appendChild(remove);
      box.appendChild(label);
      box.appendChild(cell);
    });
  }

  function currentPlans() {
    var out = {};
    Array.prototype.forEach.call(document.querySelectorAll("#tune-plan-rows input[data-plan]"), function (input) {
      out[input.dataset.plan] = input.value === "" ? NaN : Number(input.value);
    });
    return out;
  }

  function addPlan() {
    var name = $("tune-plan-name").value.trim();
    var value = $("tune-plan-value");
    if (!name) { message("Name the plan tier as your tickets carry it (the plan field).", true); return; }
    if (!value.checkValidity() || value.value === "") { message("Its multiplier: " + sentence(value.validationMessage || "a number from 0 to 100"), true); return; }
    var plans = currentPlans();
    plans[name] = Number(value.value);
    planRows(plans);
    $("tune-plan-name").value = "";
    message("", false);
  }

  function samePlans(a, b) {
    var ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every(function (k, i) { return k === kb[i] && a[k] === b[k]; });
  }

  function fill(s) {
    planRows(s.plan_sensitivity || {});
    $("tune-budget").value = String(s.alarm_budget_per_week);
    $("tune-requesters").value = String(s.min_requesters);
    $("tune-resolve").value = String(s.resolve_after_minutes);
    $("tune-enabled").checked = !!s.enabled;
    KINDS.forEach(function (k) { $("tune-kind-" + k[0]).value = String(s.sensitivity[k[0]]); });
  }

  function fillFriction(f) {
    $("tune-friction").hidden = !f;
    if (f) FRICTION.forEach(function (x) { $(x[1]).value = String(f[x[0]]); });
  }

  function number(id) {
    var input = $(id);
    if (!input.checkValidity() || input.value === "") {
      input.focus();
      throw new Error((input.labels && input.labels[0] ? input.labels[0].textContent : input.name) + ": " +
                      sentence(input.validationMessage || "a number is needed"));
    }
    return Number(input.value);
  }

  // The form's changes against the stored settings, in the PATCH body's shape.
  function changes() {
    var out = {};
    var budget = number("tune-budget"), requesters = number("tune-requesters"), resolve = number("tune-resolve");
    if (budget !== stored.alarm_budget_per_week) out.alarm_budget_per_week = budget;
    if (requesters !== stored.min_requesters) out.min_requesters = requesters;
    if (resolve !== stored.resolve_after_minutes) out.resolve_after_minutes = resolve;
    if ($("tune-enabled").checked !== stored.enabled) out.enabled = $("tune-enabled").checked;
    KINDS.forEach(function (k) {
      var v = number("tune-kind-" + k[0]);
      if (v !== stored.sensitivity[k[0]]) (out.sensitivity = out.sensitivity || {})[k[0]] = v;
    });
    var plans = {};
    Array.prototype.forEach.call(document.querySelectorAll("#tune-plan-rows input[data-plan]"), function (input) {
      plans[input.dataset.plan] = number(input.id);
    });
    if (!samePlans(plans, stored.plan_sensitivity || {})) out.plan_sensitivity = plans;
    return out;
  }

  // The friction row's changes against the stored widget settings ({} when none, or when they are unknown).
  function frictionChanges() {
    var out = {};
    if (!storedFriction) return out;
    FRICTION.forEach(function (x) {
      var v = number(x[1]);
      if (v !== storedFriction[x[0]]) out[x[0]] = v;
    });
    return out;
  }

  function describe(settings, friction) {
    var parts = [];
    friction = friction || settings.friction || {};
    if (settings.alarm_budget_per_week !== undefined) parts.push("false alarms " + settings.alarm_budget_per_week + " a week");
    Object.keys(settings.sensitivity || {}).forEach(function (k) {
      parts.push(kindName(k).toLowerCase() + " " + (settings.sensitivity[k] === 0 ? "off" : "× " + settings.sensitivity[k]));
    });
    if (settings.plan_sensitivity) {
      var plans = Object.keys(settings.plan_sensitivity);
      parts.push(plans.length ? plans.map(function (p) { return "plan " + p + " × " + settings.plan_sensitivity[p]; }).join(", ")
        : "no plan tier multipliers");
    }
    if (settings.min_requesters !== undefined) parts.push("at least " + settings.min_requesters + " customers");
    if (settings.resolve_after_minutes !== undefined) parts.push("resolve after " + settings.resolve_after_minutes + " min");
    if (settings.drop_min_expected !== undefined) {
      parts.push("drops looked for only where at least " + settings.drop_min_expected + " tickets were expected");
    }
    if (settings.enabled !== undefined) parts.push(settings.enabled ? "detection on" : "detection off");
    if (friction.weekly_false_alarms !== undefined) {
      parts.push("in-app friction false alarms " + friction.weekly_false_alarms + " a week");
    }
    if (friction.min_sessions !== undefined) parts.push("in-app friction on at least " + friction.min_sessions + " sessions");
    if (friction.warmup_hours !== undefined) parts.push("in-app friction learns for " + friction.warmup_hours + " h");
    return parts.length ? parts.join(", ") : "the stored settings (unchanged)";
  }

  // "Your name" at the top of the page: sent with a backtest (the run says who asked) and remembered for the
  // page's next visit, as status changes and feedback remember it.
  function by() {
    var input = $("by");
    var name = input && input.value.trim() ? input.value.trim().slice(0, 200) : undefined;
    if (name) { try { localStorage.setItem(GS.BY_KEY, name); } catch (e) { /* private mode: not kept */ } }
    return name;
  }

  // --- a run ------------------------------------------------------------------------------------
  // One run is followed at a time. Each reading is numbered: one that answers after a later one was asked for
  // (a new backtest tried while the last one's reading was on its way, a token given again) is dropped, and
  // its run is followed no more, so the section shows the run asked about last.
  var followed = 0;
  function follow(id) {
    if (polling) clearTimeout(polling);
    var mine = ++followed;
    call("GET", "/api/v1/backtests/" + id).then(function (run) {
      if (mine !== followed) return;
      render(run);
      if (run.status === "queued" || run.status === "running") polling = setTimeout(function () { follow(id); }, 1000);
      else { polling = null; $("tune-try").disabled = false; }
    }).catch(function (err) {
      if (mine !== followed) return;
      message("Could not read the backtest: " + err.message, true);
      $("tune-try").disabled = false;
    });
  }

  // The finished run's chart as drawn and the width it was drawn at: drawn again, alone, when its box gets
  // wider or narrower (a phone turned, a window resized), the table and its choice left as they are.
  var shown = { result: null, figure: null, width: 0 };

  function render(run) {
    var box = $("tuning-run");
    shown.result = null;
    var head = el("p", "tuning-head");
    head.appendChild(el("strong", null, "Backtest #" + run.id + ": "));
    head.appendChild(document.createTextNode(describe(run.settings) + ", since " + when(run.since) +
      (run.requested_by ? ", asked by " + run.requested_by : "") + "."));
    var parts = [head];
    if (run.status === "queued" || run.status === "running") {
      var p = run.progress;
      var bar = el("progress");
      bar.max = Math.max(1, p.events_total);
      bar.value = p.events_done;
      bar.setAttribute("aria-label", "events replayed");
      var line = el("p", "progress-line");
      line.appendChild(bar);
      line.appendChild(el("span", null, run.status === "queued"
        ? " Waiting for the detector to pick it up… (" + duration(since(run.created_at)) + " so far)"
        : " Replaying " + GS.count(p.events_done) + " of " + GS.count(p.events_total) + " events (" +
          Math.floor(100 * p.events_done / Math.max(1, p.events_total)) + "%)… " + timing(run)));
      var cancel = el("button", "secondary", "Cancel");
      cancel.type = "button";
      cancel.addEventListener("click", function () {
        cancel.disabled = true;
        // drawn as the server answers, and read once more (a reading under way, from before, is dropped)
        call("DELETE", "/api/v1/backtests/" + run.id).then(function (after) { render(after); follow(after.id); })
          .catch(function (err) { message(err.message, true); });
      });
      line.appendChild(cancel);
      parts.push(line);
    } else if (run.status === "failed") {
      parts.push(el("p", "detail-error", "The backtest failed: " + (run.error || "no reason given") + "."));
    } else if (run.status === "cancelled") {
      parts.push(el("p", "hint", "Cancelled at " + when(run.finished_at) + "."));
    } else if (run.result) {
      if (run.started_at && run.finished_at) {
        head.appendChild(document.createTextNode(" It took " +
          duration((Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000) + "."));
      }
      parts.push(useThese(run));
      parts = parts.concat(result(run.result, box.clientWidth));
    }
    box.replaceChildren.apply(box, parts);
  }

  // Seconds since a moment the server gave (never negative: the two clocks may differ a little).
  function since(iso) { return Math.max(0, (Date.now() - Date.parse(iso)) / 1000); }

  function duration(seconds) {
    var s = Math.round(seconds);
    if (s < 60) return s + " s";
    var m = Math.round(s / 60);
    if (m < 60) return m + " min";
    return Math.floor(m / 60) + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
  }

  // How long a running backtest has taken, and about how long it has to go: said only once a few percent
  // and a few seconds are behind it, and the server has a guess (progress.seconds_left). The server prices
  // the tickets and the in-app events still to replay each at what one of its kind has cost lately: a ticket
  // costs tens of times an in-app event, so a rate of events a second swung as runs of one or the other went by.
  function timing(run) {
    if (!run.started_at) return "";
    var p = run.progress, elapsed = since(run.started_at), left = p.seconds_left;
    var out = duration(elapsed) + " so far";
    if (typeof left === "number" && p.events_done >= 0.02 * p.events_total && elapsed >= 5 &&
        p.events_done < p.events_total) {
      out += ", about " + (left < 60 ? "a minute" : duration(left)) + " to go";
    }
    return "(" + out + ")";
  }

  // A finished backtest's settings put back in the form, on top of the stored ones as the run applied them, so
  // that "Save settings" saves what was tried (after a reload the form shows the stored ones again).
  function useThese(run) {
    var p = el("p", "tuning-use");
    var b = el("button", "secondary", "Use these settings");
    b.type = "button";
    b.addEventListener("click", function () {
      if (!stored) return;
      var s = run.settings || {};
      var merged = Object.assign({}, stored, s, { sensitivity: Object.assign({}, stored.sensitivity, s.sensitivity || {}) });
      fill(merged);
      if (storedFriction) fillFriction(Object.assign({}, storedFriction, s.friction || {}));
      message("The form now holds backtest #" + run.id + "'s settings (" + describe(s) + "). Save them to apply them.", false);
      $("tune-budget").focus();
    });
    p.appendChild(b);
    return p;
  }

  function plural(n, one, many) { return GS.count(n) + " " + (n === 1 ? one : many); }

  function kinds(byKind) {
    var keys = Object.keys(byKind);
    return keys.length ? " (" + keys.map(function (k) { return kindName(k) + " " + GS.count(byKind[k]); }).join(", ") + ")" : "";
  }

  // What the run found, in the words of the table under it: incidents these settings add (the stored ones
  // did not open them) and drop (only the stored ones opened them).
  // When the tenant's data begins after the period asked for (its first ticket is two weeks old, 30 days were
  // asked for), the rates a week are over the weeks that have data (data_since), and the sentence says so.
  function dataLater(r) { return !!r.data_since && Date.parse(r.data_since) > Date.parse(r.since); }

  // A run's rate a week, or nothing under a week of data (the server gives none: a day's rate times seven misleads).
  function perWeek(totals) { return totals.per_week === null ? "" : ", " + GS.count(totals.per_week) + " a week"; }

  function result(r, room) {
    var out = [];
    var short = r.current.per_week === null;
    var only = dataLater(r) ? " (data only from " + when(r.data_since) +
      (short ? "" : "; the rates a week count from there") + ")" : "";
    out.push(el("p", "tuning-summary", "From " + when(r.since) + only +
      (short ? ", under a week of data, too little for a rate a week" : "") + ": with the stored settings " +
      plural(r.current.count, "incident", "incidents") + kinds(r.current.by_kind) + perWeek(r.current) +
      "; with these " + plural(r.proposed.count, "incident", "incidents") + kinds(r.proposed.by_kind) +
      perWeek(r.proposed) + ". Against the stored settings these add " + GS.count(r.added) +
      " and drop " + GS.count(r.removed) + ". " + GS.count(r.tickets) + " tickets and " + GS.count(r.events) +
      " events replayed."));
    var g = r.ratings, rated = g.useful_kept + g.useful_dropped + g.noise_kept + g.noise_dropped;
    out.push(el("p", rated ? (g.useful_dropped ? "detail-error" : "hint") : "hint", rated
      ? "Of the real incidents people rated, these settings keep " + GS.count(g.useful_kept) + " and drop " +
        GS.count(g.useful_dropped) + " of those marked useful, and keep " + GS.count(g.noise_kept) + " and drop " +
        GS.count(g.noise_dropped) + " of those marked noise."
      : "None of these incidents matches a real one people rated useful or noise."));
    shown.result = r;
    shown.width = room;
    shown.figure = weekly(r, room);
    out.push(shown.figure);
    out.push(differences(r));
    return out;
  }

  // The weeks are whole weeks from Monday 00:00 UTC, as in the report ("How detection went"), labelled by
  // that Monday's date in UTC wherever the reader is: an incident's bars are under the week it was detected
  // in. A result stored before the weeks were aligned counts them from the backtest's start: said so.
  function monday(iso) { var d = new Date(iso); return d.getUTCDay() === 1 && d.getTime() % 86400000 === 0; }

  // The chart is drawn at the width it has (at most 640 px), not scaled to it, so its 12 px labels stay 12 px
  // on a phone; under the bars, as many weeks' dates as fit without touching (the latest always, page.js's
  // GS.ticks, as in the report), as month and day; each bar's title names its week in full.
  var TICK = 56;  // px a week's label needs, "Nov 30" at 12 px with room either side
  function weekly(r, room) {
    var weeks = r.weekly, w = Math.round(Math.max(280, Math.min(640, room || 640))), h = 150, foot = 24, max = 1;
    var aligned = weeks.every(function (x) { return monday(x.week_start); });
    var zone = aligned ? "UTC" : undefined;
    function tick(iso) { return new Date(iso).toLocaleDateString([], { month: "short", day: "numeric", timeZone: zone }); }
    weeks.forEach(function (x) { max = Math.max(max, x.current, x.proposed); });
    var pad = Math.max(24, 8 + 7 * GS.count(max).length);
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("width", String(w));
    svg.setAttribute("height", String(h));
    svg.setAttribute("class", "tuning-chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "incidents a week" + (aligned ? " (weeks from Monday, UTC)" : "") +
      ", stored settings against the proposed ones");
    var slot = (w - pad) / Math.max(1, weeks.length), bw = Math.max(2, Math.min(24, slot / 2 - 3));
    weeks.forEach(function (x, i) {
      var which = aligned ? "week from Monday " + GS.day(x.week_start, "UTC") + " (UTC)" : "week from " + when(x.week_start);
      var from = dataLater(r) ? r.data_since : r.since;  // the chart begins with the week the data begins in
      if (i === 0 && new Date(from) > new Date(x.week_start)) which += ", counted from " + when(from);
      if (i === weeks.length - 1) which += ", so far";
      [["current", 0], ["proposed", 1]].forEach(function (s) {
        var v = x[s[0]], bh = (h - foot - 8) * v / max;
        var bar = document.createElementNS(SVG, "rect");
        bar.setAttribute("class", "bar " + s[0]);
        bar.setAttribute("x", String(pad + i * slot + slot / 2 - bw - 1 + s[1] * (bw + 2)));
        bar.setAttribute("y", String(h - foot - bh));
        bar.setAttribute("width", String(bw));
        bar.setAttribute("height", String(Math.max(bh, v ? 1 : 0)));
        var t = document.createElementNS(SVG, "title");
        t.textContent = which + ": " + GS.count(v) + " with the " + (s[0] === "current" ? "stored" : "proposed") + " settings";
        bar.appendChild(t);
        svg.appendChild(bar);
      });
    });
    GS.ticks(weeks.length, function (i) { return pad + i * slot + slot / 2; }, w, TICK).forEach(function (t) {
      var label = document.createElementNS(SVG, "text");
      label.setAttribute("x", String(t[1]));
      label.setAttribute("y", String(h - 6));
      label.setAttribute("text-anchor", "middle");
      label.textContent = tick(weeks[t[0]].week_start);
      svg.appendChild(label);
    });
    var top = document.createElementNS(SVG, "text");
    top.setAttribute("x", "2"); top.setAttribute("y", "12");
    top.textContent = GS.count(max);
    svg.appendChild(top);
    var fig = el("figure", "tuning-figure");
    fig.appendChild(svg);
    var legend = el("figcaption", "legend");
    legend.appendChild(el("span", "key current", "stored settings"));
    legend.appendChild(el("span", "key proposed", "these settings"));
    legend.appendChild(document.createTextNode(aligned
      ? " · incidents detected a week (weeks from Monday, UTC, under that Monday's date)"
      : " · incidents detected a week (weeks from the backtest's start, under their first day)"));
    fig.appendChild(legend);
    return fig;
  }

  // The incidents of the run: what these settings do to each (add, drop, keep), what it was, when, how many
  // customers wrote, and what people said about the real incident it matches.
  var COLUMNS = ["With these settings", "Incident", "Detected", "Customers", "People said"];
  function differences(r) {
    var wrap = el("div");
    var all = false;
    function draw() {
      var rows = r.incidents.filter(function (i) { return all || i.in !== "both"; });
      // at a phone's width the rows stack (app.css, table.stack), each cell after its column's name
      var table = el("table", "tuning-table stack");
      var head = el("tr", "head");
      COLUMNS.forEach(function (c) {
        var th = el("th", null, c); th.scope = "col"; head.appendChild(th);
      });
      table.appendChild(head);
      rows.forEach(function (i) {
        var tr = el("tr", "in-" + i.in);
        var what = el("td");
        var badge = el("span", "badge kind-" + i.kind, kindName(i.kind));
        what.appendChild(badge);
        what.appendChild(document.createTextNode(" " + i.title));
        // the detector's UTC clocks in the sentence, in the reader's zone as the table's other times
        what.appendChild(el("div", "hint", GS.clocks(i.sentence || "", i.first_seen_at, GS.clock)));
        var a = i.actual;
        [el("td", "where", i.in === "both" ? "kept" : i.in === "proposed_only" ? "added" : "dropped"), what,
         el("td", null, when(i.detected_at)), el("td", null, i.kind === "friction" ? "—" : GS.count(i.requester_count)),
         el("td", null, !a ? "not opened at the time" : (a.verdict || "not rated") + " (incident #" + a.id + ")")
        ].forEach(function (td, k) { td.dataset.label = COLUMNS[k]; tr.appendChild(td); });
        table.appendChild(tr);
      });
      var parts = [];
      if (rows.length) parts.push(table);
      else parts.push(el("p", "hint", all ? "No incidents in this period." : "The two settings open the same incidents."));
      var both = r.incidents.length - rows.length;
      if (both || all) {
        var toggle = el("button", "secondary", all ? "Only the differences"
          : "Also show the " + GS.count(both) + " both settings open");
        toggle.type = "button";
        toggle.addEventListener("click", function () { all = !all; draw(); });
        parts.push(toggle);
      }
      if (r.incidents_total > r.incidents.length) {
        parts.push(el("p", "hint", "The newest " + GS.count(r.incidents.length) + " of " + GS.count(r.incidents_total) +
                                   " are listed."));
      }
      wrap.replaceChildren.apply(wrap, parts);
    }
    draw();
    return wrap;
  }

  // --- actions ----------------------------------------------------------------------------------
  function tryIt(e) {
    e.preventDefault();
    var settings, friction;
    try { settings = changes(); friction = frictionChanges(); } catch (err) { message(err.message, true); return; }
    message("", false);
    $("tune-try").disabled = true;
    var body = { days: Number($("tune-days").value), settings: settings };
    if (Object.keys(friction).length) body.friction = friction;
    var who = by();
    if (who) body.by = who;
    call("POST", "/api/v1/backtests", body).then(function (run) { render(run); follow(run.id); })
      .catch(function (err) {
        if (err.status === 409 && err.fields && err.fields.backtest_id) {
          message("Another backtest is still running; showing it. Try again when it ends.", false);
          follow(err.fields.backtest_id);
          return;
        }
        $("tune-try").disabled = false;
        message(err.message, true);
      });
  }

  // Only the friction row changes (PATCH, field by field): nudges and known issues stay as stored.
  function saveFriction(friction) {
    return call("PATCH", "/api/v1/settings/widget", { friction: friction }).then(function (w) {
      storedFriction = w.friction;
      fillFriction(w.friction);
    });
  }

  function save() {
    var settings, friction;
    try { settings = changes(); friction = frictionChanges(); } catch (err) { message(err.message, true); return; }
    if (!Object.keys(settings).length && !Object.keys(friction).length) {
      message("Nothing to save: these are the stored settings.", false);
      return;
    }
    $("tune-save").disabled = true;
    var detection = Object.keys(settings).length
      ? call("PATCH", "/api/v1/settings/detection", settings).then(function (s) { stored = s; fill(s); })
      : Promise.resolve();
    detection.then(function () { return Object.keys(friction).length ? saveFriction(friction) : null; }).then(function () {
      message("Saved (" + describe(settings, friction) + "). The detector applies them within a minute.", false);
    }).catch(function (err) { message(err.message, true); })
      .then(function () { $("tune-save").disabled = false; });
  }

  function load() {
    if (!GS.hasToken()) return;
    // The widget settings may be out of reach (an older server): the page then goes on without the friction row.
    var widget = call("GET", "/api/v1/settings/widget").then(function (w) { return w.friction; }, function () { return null; });
    Promise.all([call("GET", "/api/v1/settings/detection"), call("GET", "/api/v1/backtests"), widget]).then(function (r) {
      stored = r[0];
      fill(stored);
      storedFriction = r[2];
      fillFriction(storedFriction);
      $("tuning").hidden = false;
      var last = r[1].backtests[0];
      if (last) {
        if (last.status === "queued" || last.status === "running") $("tune-try").disabled = true;
        follow(last.id);
      }
    }).catch(function (err) { $("tuning").hidden = false; message("Could not load the detection settings: " + err.message, true); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!$("tuning-form")) return;
    buildKinds();
    $("tuning-form").addEventListener("submit", tryIt);
    $("tune-save").addEventListener("click", save);
    $("tune-plan-add").addEventListener("click", addPlan);
    $("tune-reset").addEventListener("click", function () {
      if (stored) { fill(stored); fillFriction(storedFriction); message("", false); }
    });
    var box = $("tuning-run");
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        if (!shown.result || !shown.figure.isConnected || Math.abs(box.clientWidth - shown.width) <= 8) return;
        var figure = weekly(shown.result, box.clientWidth);
        shown.figure.replaceWith(figure);
        shown.figure = figure;
        shown.width = box.clientWidth;
      }).observe(box);
    }
    load();
    GS.onToken(load);
  });
})();
