// Incidents page, "Known issues on your pages": the issues an admin declares (the widget settings'
// known_issues), each shown by the widget as a banner on the pages it matches, beside the issues Groundswell
// detects. Listed from GET /api/v1/settings/widget; added and removed with PATCH, which changes the list alone
// (tips and the other widget settings stay as stored), sent with If-Match: a list changed elsewhere since it was
// read (another admin, another tab) is read again instead of being overwritten. One change at a time. Everything
// is rendered as text.
(function () {
  "use strict";
  var el = GS.el;
  var stored = null;  // the declared issues as last read or saved
  var seen = null;  // the pages the widget saw lately, as the server said (pages_seen: days, count, paths)
  var version = null;  // their settings' ETag, sent back as If-Match
  var saving = false;

  // The widget settings through the API, keeping the version of each answer and sending it back with a change.
  function settings(method, body) {
    return GS.call(method, "/api/v1/settings/widget", body, {
      headers: method !== "GET" && version ? { "If-Match": version } : null,
      seen: function (r) { if (r.ok) version = r.headers.get("ETag"); }
    });
  }

  function message(text, bad) { GS.say("known-status", text, bad); }

  // What the server said with the list: the pages the widget saw lately, offered as suggestions for the
  // page field (the paths as the widget sees them, prefix and all).
  function took(w) {
    stored = w.known_issues || [];
    seen = w.pages_seen || null;
    var input = document.getElementById("known-match"), list = document.getElementById("known-pages");
    if (!list) {
      list = el("datalist");
      list.id = "known-pages";
      input.parentNode.appendChild(list);
      input.setAttribute("list", list.id);
    }
    list.replaceChildren.apply(list, ((seen && seen.paths) || []).map(function (p) {
      var o = el("option");
      o.value = p;
      return o;
    }));
  }

  // An issue whose pattern matches none of the pages the widget saw lately shows its banner nowhere (yet):
  // the words that say so, or "" (a match, or nothing seen to judge by, or an older server that does not say).
  function nowhere(issue) {
    if (issue.pages_matched !== 0 || !seen || !seen.count) return "";
    var some = (seen.paths || []).slice(0, 3).join(", ");
    return "matches none of the " + GS.count(seen.count) + (seen.count === 1 ? " page" : " pages") +
      " the widget saw in the last " + seen.days + " days" + (some ? " (such as " + some + ")" : "");
  }

  // What the server refused, by the field's name on the page (the list's errors come keyed by the item's
  // position); any other refusal in the server's words.
  var LABELS = { match: "Page", message: "Message", link_url: "Link", id: "Id" };
  function refusal(err) {
    var items = err.fields && err.fields.known_issues;
    if (!items || typeof items !== "object" || Array.isArray(items)) return err.message;
    var said = [];
    Object.keys(items).forEach(function (i) {
      var item = items[i];
      if (!item || typeof item !== "object" || Array.isArray(item)) { said.push([].concat(item).join(" ")); return; }
      Object.keys(item).forEach(function (k) { said.push((LABELS[k] || k) + ": " + [].concat(item[k]).join(" ")); });
    });
    return said.join("; ") || err.message;
  }

  // A new issue's id: the page pattern's words and the time, within the API's alphabet and 64 characters.
  function newId(match) {
    var words = match.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "page";
    return (words + "-" + Date.now().toString(36)).slice(0, 64);
  }

  // Saves the list; a list changed elsewhere since it was read (412) is read again and shown, and nothing is
  // saved. Resolves true when saved.
  function save(issues, said) {
    saving = true;
    busy(true);
    var sent = issues.map(function (i) { return { id: i.id, match: i.match, message: i.message, link_url: i.link_url }; });
    return settings("PATCH", { known_issues: sent }).then(function (w) {
      took(w);
      var mine = typeof said === "function" ? said() : { text: said, bad: false };
      message(mine.text, mine.bad);
      return true;
    }, function (err) {
      if (err.status !== 412) throw err;
      return settings("GET").then(function (w) {
        took(w);
        message("The known issues were changed elsewhere meanwhile: here they are as they are now. Nothing was " +
                "saved; make your change again.", true);
        return false;
      });
    }).then(function (saved) {
      saving = false;
      render();
      busy(false);
      return saved;
    }, function (err) {
      saving = false;
      busy(false);
      throw err;
    });
  }

  // While a change is saved, the others wait: every button of the section is off.
  function busy(on) {
    document.querySelectorAll("#known-issues button").forEach(function (b) { b.disabled = on; });
  }

  function render() {
    var box = document.getElementById("known-list");
    if (!stored.length) {
      box.replaceChildren(el("p", "hint", "None declared. Groundswell's own incidents show on their pages without you."));
      return;
    }
    var ul = el("ul", "plain known-issues");
    stored.forEach(function (issue) {
      var li = el("li");
      li.appendChild(el("code", null, issue.match));
      li.appendChild(document.createTextNode(": " + issue.message + " "));
      if (issue.link_url) li.appendChild(el("span", "hint", "(links to " + issue.link_url + ") "));
      var none = nowhere(issue);
      if (none) li.appendChild(el("span", "detail-error", "This pattern " + none + ": its banner shows nowhere. "));
      // two clicks: a banner customers read is not taken down by a slip; none while another change is saved
      var remove = GS.twoClick("Remove", "Remove? Click again", function () {
        var left = stored.filter(function (i) { return i.id !== issue.id; });
        return save(left, "Removed: pages matching " + issue.match + " no longer show it from their next load.");
      }, function (err) { message(refusal(err), true); }, { ready: function () { return !saving; } });
      remove.setAttribute("aria-label", "Remove the known issue on " + issue.match);
      li.appendChild(remove);
      ul.appendChild(li);
    });
    box.replaceChildren(ul);
  }

  function declare(ev) {
    ev.preventDefault();
    if (saving) return;
    var fields = ["known-match", "known-text", "known-link"].map(function (id) { return document.getElementById(id); });
    for (var i = 0; i < fields.length; i++) {
      fields[i].value = fields[i].value.trim();
      if (!fields[i].checkValidity()) {
        fields[i].focus();
        message(fields[i].labels[0].textContent + ": " + fields[i].validationMessage, true);
        return;
      }
    }
    if (fields[0].value.charAt(0) !== "/") {
      fields[0].focus();
      message("Page: a path that starts with / (such as /billing*).", true);
      return;
    }
    var issue = { id: newId(fields[0].value), match: fields[0].value, message: fields[1].value,
                  link_url: fields[2].value || null };
    save(stored.concat([issue]), function () {
      var mine = stored.filter(function (i) { return i.id === issue.id; })[0] || issue;
      var none = nowhere(mine);
      return none
        ? { text: "Declared, but " + issue.match + " " + none + ": no banner shows until a page it matches is " +
                  "visited. Remove it and declare the path as the widget sees it.", bad: true }
        : { text: "Declared: pages matching " + issue.match + " show it from their next load.", bad: false };
    }).then(function (saved) {
      if (saved) fields[1].value = fields[2].value = "";
    }, function (err) {
      message(refusal(err), true);
    });
  }

  function load() {
    if (!GS.hasToken()) return;
    settings("GET").then(function (w) {
      took(w);
      render();
      document.getElementById("known-issues").hidden = false;
    }, function () { /* an older server without widget settings: the section stays hidden */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("known-form");
    if (!form) return;
    form.addEventListener("submit", declare);
    load();
    GS.onToken(load);
  });
})();
