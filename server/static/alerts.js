// Incidents page, "Where alerts go": the Slack setting, the incident webhooks (with their last delivery, a
// test and removal, and a form to add one) and the notification mutes that are on. Same token as the
// incidents list; everything from the API is rendered as text. What the server refuses or answers with a
// code (a field's validation message, Slack's or a receiver's error) is said in sentences by the fields'
// labels; the codes stay in the API and the logs.
(function () {
  "use strict";
  var el = GS.el, when = GS.when, call = GS.call, count = GS.count;
  function $(id) { return document.getElementById(id); }

  function slackLine(s) {
    if (!s || s.mode === "off") return "Slack: off. Choose where incidents go below.";
    var where = s.mode === "web_api" ? "Slack: one thread per incident in " + (s.channel || "?") + " (Web API)."
      : "Slack: one message per incident event (incoming webhook).";
    return where + (s.signing_secret_set
      ? " Messages carry Acknowledge, Useful and Noise buttons; the Slack app sends presses to " + s.interactions_url + "."
      : " No buttons: store the Slack app's signing secret to add Acknowledge, Useful and Noise.");
  }

  // The Slack form: the stored mode and channel are filled in; secrets never come back, so their fields
  // say whether one is stored and stay empty (empty: keep it).
  var slack = null, slackEdited = false;
  function fillSlack(s, force) {
    slack = s;
    // a refresh while someone types in the form, or after they changed something not yet saved, leaves it alone
    if (!force && (slackEdited || (document.activeElement && $("slack-form").contains(document.activeElement)))) return;
    slackEdited = false;
    $("slack-mode").value = s.mode || "off";
    $("slack-channel").value = s.channel || "";
    $("slack-webhook-url").placeholder = s.webhook_url_set ? "stored (empty: keep it)" : "https://hooks.slack.com/services/…";
    $("slack-bot-token").placeholder = s.bot_token_set ? "stored (empty: keep it)" : "xoxb-…";
    $("slack-signing-secret").placeholder = s.signing_secret_set ? "stored (empty: keep it)" : "from the Slack app's Basic Information";
    $("slack-no-buttons").checked = false;
    showMode();
  }
  function showMode() {
    var mode = document.getElementById("slack-mode").value;
    document.querySelectorAll("#slack-form [data-mode]").forEach(function (e) {
      e.hidden = e.dataset.mode.split(" ").indexOf(mode) < 0 ||
        (e.id === "slack-no-buttons-label" && !(slack && slack.signing_secret_set));
    });
    document.getElementById("slack-test").disabled = !slack || slack.mode === "off";
  }

  // What the server says about the form, in the form's words: each field it names by the label the page
  // gives it, marked invalid and described by the message, the first one focused; the marks go when the
  // field is edited, the mode is changed or a save goes through.
  var SLACK_FIELDS = [["mode", "slack-mode"], ["webhook_url", "slack-webhook-url"], ["bot_token", "slack-bot-token"],
                      ["channel", "slack-channel"], ["signing_secret", "slack-signing-secret"]];
  var MODE_WORDS = { webhook: "an incoming webhook", web_api: "a channel with a bot token" };
  function slackSay(text, bad) { GS.say("slack-message", text, bad); }
  function labelOf(id) {
    var label = document.querySelector("label[for='" + id + "']");
    return label ? label.firstChild.textContent.trim() : id;
  }
  function reason(text) {
    var m = /^required when mode is '(\w+)'$/.exec(text);
    if (m) return "required for " + (MODE_WORDS[m[1]] || m[1]);
    m = /^must be an https URL on (.+) \(SLACK_WEBHOOK_HOSTS\)$/.exec(text);
    if (m) return "must be a Slack incoming webhook address (https://), on " + m[1];
    m = /^Length must be between (\d+) and (\d+)\.$/.exec(text);
    if (m) return "must be " + m[1] + " to " + m[2] + " characters long";
    if (text === "Not a valid URL.") return "not a web address (https://hooks.slack.com/services/…)";
    if (text === "no spaces") return "must not contain spaces";
    if (/^a channel id/.test(text)) return "must be " + text;
    return text.replace(/\.$/, "");
  }
  function unmark(input) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
  function unmarkSlack() { SLACK_FIELDS.forEach(function (f) { unmark($(f[1])); }); }
  function slackRefused(err) {
    unmarkSlack();
    var fields = err.fields || {}, parts = [], first = null;
    SLACK_FIELDS.forEach(function (f) {
      if (!(f[0] in fields)) return;
      var input = $(f[1]);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "slack-message");
      if (!first && !input.hidden) first = input;
      parts.push(labelOf(f[1]) + ": " + [].concat(fields[f[0]]).map(String).map(reason).join("; ") + ".");
    });
    Object.keys(fields).forEach(function (name) {  // anything else the server names, as it says it
      if (!SLACK_FIELDS.some(function (f) { return f[0] === name; })) parts.push(name + ": " + fields[name] + ".");
    });
    slackSay("Slack settings not saved. " + (parts.length ? parts.join(" ") : err.message), true);
    if (first) first.focus();
  }

  function saveSlack(e) {
    e.preventDefault();
    var mode = $("slack-mode").value, body = { mode: mode };
    if (mode === "web_api") body.channel = $("slack-channel").value.trim() || null;
    [["slack-webhook-url", "webhook_url", "webhook"], ["slack-bot-token", "bot_token", "web_api"],
     ["slack-signing-secret", "signing_secret", null]].forEach(function (f) {
      var v = $(f[0]).value.trim();
      if (v && mode !== "off" && (!f[2] || f[2] === mode)) body[f[1]] = v;
    });
    if ($("slack-no-buttons").checked && mode !== "off") body.signing_secret = null;
    call("PUT", "/api/v1/settings/notifications", body).then(function (s) {
      slackFrom = asked + 1;  // the loads under way read Slack's settings before this answer: theirs are older
      ["slack-webhook-url", "slack-bot-token", "slack-signing-secret"].forEach(function (id) { $(id).value = ""; });
      unmarkSlack();
      fillSlack(s, true);
      document.getElementById("alerts-slack").textContent = slackLine(s);
      slackSay(s.mode === "off" ? "Slack is off: incidents are not posted there." :
        "Slack settings saved. Send a test message to check them.", false);
    }).catch(slackRefused);
  }
  function testSlack() {
    var b = document.getElementById("slack-test");
    b.disabled = true;
    call("POST", "/api/v1/settings/notifications/test").then(function (r) {
      b.disabled = false;
      // Slack's error words (and the client's own codes, such as connection_error_<why>) in a sentence (page.js)
      slackSay(r.ok ? "Slack: the test message arrived."
        : "Slack test failed: " + GS.problem(r.error, "slack", r.status, r.mode) + ".", !r.ok);
    }).catch(function (err) { b.disabled = false; slackSay(err.message, true); });
  }

  // Who a webhook's failures are told of (page.js, GS.problem): a PagerDuty service is named as such.
  function receiver(w) { return w.format === "pagerduty" ? "pagerduty" : "webhook"; }

  // A webhook's deliveries, a line each: the one that keeps failing and holds the rest up (in the warning
  // colour: "failing on opened of #5: could not reach the receiver (connection failed), 5 attempts, next try at
  // …; 12 waiting"), the last one attempted (sent, or given up and why), and a later one a mute held back.
  // A skipped delivery is not an attempt, so it never reads as the last delivery.
  function attempts(n) { return count(n) + (n === 1 ? " attempt" : " attempts"); }
  function deliveryLines(w) {
    var d = w.last_delivery, f = w.failing, s = w.last_skipped, waiting = count(w.pending) + " waiting", lines = [];
    if (f) {
      lines.push(el("div", "detail-error webhook-failing", "failing on " + f.event + " of #" + f.incident_id + ": " +
        GS.problem(f.error, receiver(w), f.status) + ", " + attempts(f.attempts) +
        (f.next_attempt_at ? ", next try at " + when(f.next_attempt_at) : "") +
        (f.others ? "; " + count(f.others) + " other " + (f.others === 1 ? "delivery" : "deliveries") +
          " failing too" : "") + "; " + waiting));
    }
    var text;
    if (!d) text = f || !w.pending ? "nothing sent yet" : waiting;
    else {
      text = (d.ok ? "sent " : "failed ") + d.event + " of #" + d.incident_id + " at " + when(d.at);
      if (d.ok) text += d.status ? " (HTTP " + d.status + ")" : "";
      else if (d.error) text += ": " + GS.problem(d.error, receiver(w), d.status);
      if (w.pending && !f) text += "; " + waiting;
    }
    lines.push(el("div", "webhook-last", text));
    if (s && (!d || Date.parse(s.at) > Date.parse(d.at))) {
      lines.push(el("div", "hint webhook-skipped", (s.reason === "muted" ? "held back by a mute: " : "not sent: ") +
        s.event + " of #" + s.incident_id + " at " + when(s.at)));
    }
    return lines;
  }

  // The last test of each webhook sent from this page (tests are not incident deliveries, so the server's last
  // delivery does not include them): shown under the last delivery until the page is left.
  var tests = {};
  function testLine(w) {
    var t = tests[w.id];
    if (!t) return null;
    return el("div", t.ok ? "hint webhook-test" : "detail-error webhook-test", "Test at " + when(t.at) + ": " +
      (t.ok ? "arrived (HTTP " + t.status + ")" : "failed: " + GS.problem(t.error, receiver(w), t.status)));
  }

  // A removal (or an end) made on a second click; what the server refused is said under the section.
  function twoClick(label, confirmLabel, action) {
    return GS.twoClick(label, confirmLabel, action, function (err) { message(err.message, true); });
  }

  function message(text, bad) { GS.say("alerts-message", text, bad); }

  // What the server refused in the webhook forms (adding one, a row's events, a PagerDuty secret), each
  // field by its name on the page and the reason in words: marshmallow's messages and the URL check's.
  var WEBHOOK_FIELDS = { url: "Webhook URL", routing_key: "Integration (routing) key", description: "Note",
                         format: "Add", events: "Events", kinds: "Kinds",
                         pagerduty_webhook_secret: "PagerDuty webhook secret" };
  var BAD_URL = /^(Not a valid URL\.|the URL cannot be parsed|the URL must be an http\(s\) URL with a host|the URL must use https)$/;
  function webhookReason(field, text) {
    var m = /^Length must be between (\d+) and (\d+)\.$/.exec(text);
    if (field === "url" && BAD_URL.test(text)) {
      return httpsOnly ? "must be an https:// web address" : "must be an http:// or https:// web address";
    }
    if (m && field === "routing_key") return "must be " + m[1] + " to " + m[2] + " letters and digits";
    if (m && field === "events") return "choose at least one";
    if (m) return "must be " + m[1] + " to " + m[2] + " characters long";
    if ((m = /^Longer than maximum length (\d+)\.$/.exec(text))) return "must be at most " + m[1] + " characters long";
    if (/^(required for the \w+ format|Missing data for required field\.|Field may not be null\.)$/.test(text)) return "required";
    if (text === "letters and digits only") return "must be letters and digits only";
    if (text === "printable characters, no spaces") return "must not contain spaces";
    if (text === "only for the pagerduty format") return "only for a PagerDuty service";
    if (text === "the URL must not carry a user name or password") return "must not contain a user name or password";
    if (text === "the host does not resolve") return "its host name was not found";
    if ((m = /^the host resolves to a private or reserved address \((.+)\)$/.exec(text))) {
      return "points to a private or internal address (" + m[1] + "), which Groundswell does not call";
    }
    return text.replace(/\.$/, "");
  }
  function messages(v) {  // a field's messages; a list field's are keyed by the item
    if (Array.isArray(v)) return v.map(String);
    if (v && typeof v === "object") return [].concat.apply([], Object.keys(v).map(function (k) { return messages(v[k]); }));
    return [String(v)];
  }
  function refusal(err) {
    var fields = err.fields;
    if (!fields || typeof fields !== "object" || !Object.keys(fields).length) return err.message;
    return Object.keys(fields).map(function (name) {
      var reasons = messages(fields[name]).map(function (t) { return webhookReason(name, t); });
      if (reasons.some(function (t) { return / letters and digits$/.test(t); })) {  // the length says it already
        reasons = reasons.filter(function (t) { return t !== "must be letters and digits only"; });
      }
      reasons = reasons.filter(function (t, i) { return reasons.indexOf(t) === i; });
      return (WEBHOOK_FIELDS[name] || name) + ": " + reasons.join("; ") + ".";
    }).join(" ");
  }

  var EVENTS = ["opened", "grew", "acknowledged", "resolved", "reopened"];

  // Which incident events a webhook gets: a small form behind "Change" (PATCH events).
  function eventsEditor(w) {
    var box = el("details", "events-editor");
    box.appendChild(el("summary", null, "Change"));
    var form = el("form");
    EVENTS.forEach(function (e) {
      var label = el("label", "check");
      var box2 = el("input");
      box2.type = "checkbox";
      box2.value = e;
      box2.checked = w.events.indexOf(e) >= 0;
      label.appendChild(box2);
      label.appendChild(document.createTextNode(" " + e));
      form.appendChild(label);
    });
    var save = el("button", "secondary", "Save events");
    save.type = "submit";
    form.appendChild(save);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var chosen = Array.prototype.slice.call(form.querySelectorAll("input:checked")).map(function (i) { return i.value; });
      call("PATCH", "/api/v1/settings/webhooks/" + w.id, { events: chosen }).then(function (r) {
        message("Webhook #" + w.id + " now gets " + r.events.join(", ") + ".", false);
        load();
      }).catch(function (err) { message("Webhook #" + w.id + ": events not changed. " + refusal(err), true); });
    });
    box.appendChild(form);
    return box;
  }

  // Whether PagerDuty's acknowledgements and resolutions come back, and the field to store its secret.
  function pagerdutyBack(w) {
    var box = el("div", "hint pd-back");
    if (w.pagerduty_webhook_secret_set) {
      box.appendChild(document.createTextNode("Acknowledged or resolved in PagerDuty: followed here. "));
      box.appendChild(twoClick("Stop following", "Stop? Click again", function () {
        return call("PATCH", "/api/v1/settings/webhooks/" + w.id, { pagerduty_webhook_secret: null }).then(function () { load(); });
      }));
      return box;
    }
    box.appendChild(document.createTextNode("PagerDuty's changes are not followed: point a v3 webhook subscription " +
      "(incident.acknowledged, incident.resolved) at " + w.pagerduty_webhook_url + " and store its secret: "));
    var form = el("form", "pd-secret");
    var input = el("input");
    input.type = "password";
    input.autocomplete = "off";
    input.maxLength = 200;
    input.setAttribute("aria-label", "PagerDuty webhook secret for webhook #" + w.id);
    input.placeholder = "the subscription's secret";
    var save = el("button", "secondary", "Store secret");
    save.type = "submit";
    form.appendChild(input);
    form.appendChild(save);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      call("PATCH", "/api/v1/settings/webhooks/" + w.id, { pagerduty_webhook_secret: input.value.trim() })
        .then(function () { message("Webhook #" + w.id + ": PagerDuty's changes are followed from now on.", false); load(); })
        .catch(function (err) { message("Webhook #" + w.id + ": secret not stored. " + refusal(err), true); });
    });
    box.appendChild(form);
    return box;
  }

  function renderWebhooks(box, hooks) {
    if (!hooks.length) {
      box.replaceChildren(el("p", "hint", "No incident webhooks yet."));
      return;
    }
    // at a phone's width the rows stack (app.css, table.stack), each cell after its column's name, so a
    // row's buttons are under it rather than off to the side
    var table = el("table", "webhooks stack");
    var head = el("tr", "head");
    ["Webhook", "Sends", "Last delivery", ""].forEach(function (h) { var th = el("th", null, h); th.scope = "col"; head.appendChild(th); });
    table.appendChild(head);
    hooks.forEach(function (w) {
      var tr = el("tr", "webhook-row");
      tr.dataset.id = String(w.id);
      var what = el("th", null, "#" + w.id + " " + (w.format === "pagerduty" ? "PagerDuty (key …" + w.secret_hint + ")" : w.url));
      what.scope = "row";
      if (w.description) what.appendChild(el("div", "hint", w.description));
      if (w.format === "pagerduty") what.appendChild(pagerdutyBack(w));
      tr.appendChild(what);
      var sends = el("td", null, w.events.join(", ") + " · " +
        (w.kinds ? w.kinds.map(GS.kindName).join(", ") : "every kind") + " ");
      sends.dataset.label = "Sends";
      sends.appendChild(eventsEditor(w));
      tr.appendChild(sends);
      var last = el("td", "last-delivery");
      deliveryLines(w).forEach(function (line) { last.appendChild(line); });
      last.dataset.label = "Last delivery";
      function showTest() {
        var old = last.querySelector(".webhook-test"), line = testLine(w);
        if (old) old.remove();
        if (line) last.appendChild(line);
      }
      showTest();
      tr.appendChild(last);
      var actions = el("td", "row-actions");
      var test = el("button", "secondary", "Send test");
      test.type = "button";
      test.addEventListener("click", function () {
        test.disabled = true;
        call("POST", "/api/v1/settings/webhooks/" + w.id + "/test").then(function (r) {
          test.disabled = false;
          tests[w.id] = { ok: r.ok, status: r.status, error: r.error, at: new Date().toISOString() };
          showTest();
          message("Webhook #" + w.id + ": " + (r.ok ? "the test arrived (HTTP " + r.status + ")." :
            "the test failed: " + GS.problem(r.error, receiver(w), r.status) + "."), !r.ok);
        }).catch(function (err) { test.disabled = false; message(err.message, true); });
      });
      actions.appendChild(test);
      actions.appendChild(twoClick("Remove", "Remove? Click again", function () {
        return call("DELETE", "/api/v1/settings/webhooks/" + w.id).then(function () {
          message("Webhook #" + w.id + " removed.", false);
          load();
        });
      }));
      tr.appendChild(actions);
      table.appendChild(tr);
    });
    box.replaceChildren(table);
  }

  function renderMutes(box, mutes) {
    if (!mutes.length) {
      box.replaceChildren(el("p", "hint", "No notifications are muted."));
      return;
    }
    var ul = el("ul", "plain mutes");
    mutes.forEach(function (m) {
      var li = el("li");
      // a series as people read it ("topic 5", "organization 900002"), not its key
      var what = m.scope === "incident" ? "Incident #" + m.incident_id : String(m.series || "").replace(":", " ");
      li.appendChild(document.createTextNode(what + " muted until " + when(m.until) + (m.by ? " · by " + m.by : "") +
        (m.reason ? " · " + m.reason : "") + " "));
      li.appendChild(twoClick("End", "End now? Click again", function () {
        return call("DELETE", "/api/v1/mutes/" + m.id).then(function () {
          load();
          document.dispatchEvent(new Event("gs-mutes-changed"));  // an open incident says whether it is muted
          message("The mute on " + (m.scope === "incident" ? "incident #" + m.incident_id : what) + " ended.", false);
          // its button is gone with the list drawn again: the keyboard goes to the list's heading
          var heading = document.getElementById("alerts-mutes-heading");
          if (heading) heading.focus();
        });
      }));
      ul.appendChild(li);
    });
    box.replaceChildren(ul);
  }

  // Each load is numbered: an answer that arrives after a later load began (a webhook removed, then another,
  // or the minute's refresh crossing an action's reload) is dropped, so the section shows what was read last.
  // A saved Slack setting is newer than what the loads under way read: they leave the Slack part as saved.
  var loadFailed = false, asked = 0, slackFrom = 0;
  function load(background) {
    if (!GS.hasToken()) return;
    var section = document.getElementById("alerts"), mine = ++asked;
    Promise.all([call("GET", "/api/v1/settings/notifications"), call("GET", "/api/v1/settings/webhooks"),
                 call("GET", "/api/v1/mutes")]).then(function (r) {
      if (mine !== asked) return;
      if (mine >= slackFrom) {
        document.getElementById("alerts-slack").textContent = slackLine(r[0]);
        fillSlack(r[0]);
      }
      httpsOnly = r[1].require_https !== false;
      if ($("webhook-form")) relabel();
      var hooksBox = document.getElementById("alerts-webhooks");
      // a refresh while someone edits a row (events open, a secret typed and not yet saved) leaves the table alone
      var typed = Array.prototype.some.call(hooksBox.querySelectorAll("input"), function (i) {
        return (i.type === "text" || i.type === "password") && i.value !== "";
      });
      if (!background || !(typed || hooksBox.contains(document.activeElement) || hooksBox.querySelector("details[open]"))) {
        renderWebhooks(hooksBox, r[1].webhooks);
      }
      renderMutes(document.getElementById("alerts-mutes"), r[2].mutes);
      if (loadFailed) message("", false);  // the failed load's message goes; an action's stays
      loadFailed = false;
      section.hidden = false;
    }).catch(function (err) {
      if (mine !== asked) return;
      loadFailed = true;
      message("Could not load where alerts go: " + err.message, true);
      section.hidden = false;
    });
  }

  // The webhook form's target: a PagerDuty key (the rule the server checks: 20 to 64 letters and digits;
  // PagerDuty's integration keys have 32), or a URL that must use https unless the deployment allows plain
  // http (WEBHOOK_REQUIRE_HTTPS, in the webhooks' list): the label says which.
  var httpsOnly = true;
  function relabel() {
    var pd = $("webhook-format").value === "pagerduty", target = $("webhook-target");
    $("webhook-target-label").textContent = pd ? "Integration (routing) key"
      : httpsOnly ? "Webhook URL (https)" : "Webhook URL (http or https)";
    target.type = pd ? "password" : "url";
    target.placeholder = pd ? "20 to 64 letters and digits" : "https://ops.example.com/hooks/groundswell";
  }

  // A refusal of the add form: said under it, the fields it names marked invalid (described by the
  // message), the first one focused; the marks go when the field is edited, the format changed or a
  // webhook added.
  var ADD_FIELDS = [["url", "webhook-target"], ["routing_key", "webhook-target"], ["description", "webhook-description"]];
  function unmarkAdd() { unmark($("webhook-target")); unmark($("webhook-description")); }
  function addRefused(err) {
    unmarkAdd();
    var fields = err.fields || {}, first = null;
    ADD_FIELDS.forEach(function (f) {
      if (!(f[0] in fields)) return;
      var input = $(f[1]);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "alerts-message");
      first = first || input;
    });
    message("Webhook not added. " + refusal(err), true);
    if (first) first.focus();
  }

  function setUpForm() {
    var form = document.getElementById("webhook-form");
    if (!form) return;
    document.getElementById("slack-form").addEventListener("submit", saveSlack);
    ["input", "change"].forEach(function (type) {
      document.getElementById("slack-form").addEventListener(type, function (e) {
        slackEdited = true;
        if (e.target.id === "slack-mode") unmarkSlack();  // another mode needs other fields
        else if (e.target.hasAttribute("aria-invalid")) unmark(e.target);
      });
    });
    document.getElementById("slack-mode").addEventListener("change", showMode);
    document.getElementById("slack-test").addEventListener("click", testSlack);
    var format = document.getElementById("webhook-format");
    var target = document.getElementById("webhook-target");
    format.addEventListener("change", function () { unmarkAdd(); relabel(); });
    relabel();
    form.addEventListener("input", function (e) { if (e.target.hasAttribute("aria-invalid")) unmark(e.target); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { format: format.value };
      body[format.value === "pagerduty" ? "routing_key" : "url"] = target.value.trim();
      var note = document.getElementById("webhook-description").value.trim();
      if (note) body.description = note;
      var secret = document.getElementById("webhook-secret");
      call("POST", "/api/v1/settings/webhooks", body).then(function (w) {
        target.value = "";  // the next webhook starts from an empty form (its format stays as chosen)
        document.getElementById("webhook-description").value = "";
        unmarkAdd();
        message("Webhook #" + w.id + " added: incident events go there from now on.", false);
        secret.hidden = !w.signing_secret;
        if (w.signing_secret) {
          secret.replaceChildren(el("span", null, "Signing secret, shown this once (verify X-Groundswell-Signature with it): "),
            el("code", null, w.signing_secret));
        }
        load();
      }).catch(addRefused);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpForm();
    load();
    GS.onToken(load);
    // a person acted on an incident on this page (muted or unmuted it, among others: incidents.js): the mutes
    // and the deliveries read again, the webhooks' table left alone while someone edits it
    document.addEventListener("gs-incident-changed", function () { load(true); });
    setInterval(function () { load(true); }, 60000);
  });
})();
