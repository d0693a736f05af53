// Incidents page: lists incidents from /api/v1/incidents with the tenant's token, shows one with its
// evidence and an SVG chart of its hourly volume against the baseline band, and changes status or
// records feedback. Every value from the API is written with textContent or as an SVG attribute,
// never parsed as HTML.
(function () {
  "use strict";
  var KEY = GS.TOKEN_KEY;
  var BY_KEY = GS.BY_KEY;  // page.js (loaded first)
  var REFRESH_MS = 15000;
  var FILTERS = { active: "open,acknowledged", resolved: "resolved", dismissed: "dismissed", all: "" };
  var EMPTY = { active: "No active incidents. All quiet.", resolved: "No resolved incidents yet.",
                dismissed: "No dismissed incidents.", all: "No incidents yet." };
  var SIGNAL_NOUNS = GS.SIGNAL_NOUNS;  // page.js

  // The transitions the API allows (server/incidents/actions.py TRANSITIONS), as buttons. Back to open from
  // acknowledged takes the acknowledgement back (nobody is on it after all); from resolved or dismissed it
  // reopens the incident: one status, two meanings, so two labels. Only the next step stands out (primary):
  // Acknowledge while the incident is open, Resolve once it is acknowledged.
  var ACTIONS = [
    { status: "acknowledged", label: "Acknowledge", from: ["open"], done: "Acknowledged", primary: ["open"] },
    { status: "resolved", label: "Resolve", from: ["open", "acknowledged"], done: "Resolved", primary: ["acknowledged"] },
    { status: "dismissed", label: "Dismiss", from: ["open", "acknowledged"], cls: "secondary", done: "Dismissed" },
    { status: "open", label: "Back to open", from: ["acknowledged"], cls: "secondary", done: "Back to open",
      title: "Take the acknowledgement back: nobody is on it after all" },
    { status: "open", label: "Reopen", from: ["resolved", "dismissed"], cls: "secondary", done: "Reopened" }
  ];

  // seen: the ids of every incident this page has listed or shown, never announced as new.
  var state = { filter: "active", kind: "", q: "", selected: null, timer: null, busy: false, opened: false, seen: {} };

  // --- small helpers ---------------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  var when = GS.when;  // page.js (loaded first): the reader's zone and locale, to the minute

  // A time of day alone ("04:06 PM", "16:06"), written as page.js's when writes the time of a date, so that a
  // sentence's clock, the chart's hours and the legend's times read alike.
  var clock = GS.clock;

  // The detector writes a sentence's clocks in UTC ("first seen 23:04 UTC", "in the hour from 14:00 UTC");
  // the page shows every other time in the reader's zone, so those clocks are shown in it too: each is the
  // moment with that clock nearest the incident's first-seen time (page.js clocks).
  function localSentence(inc) {
    return GS.clocks(inc.sentence || "", inc.first_seen_at, clock);
  }

  // Sets a text only when it changes: a status line read out by screen readers is not read again for nothing.
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  var num = GS.num;  // page.js: a figure to 2 decimals, one above nothing never "0"
  // A p-value: a small one as a power of ten ("2.00e-4"), where "under 0.01" would say too little.
  function pvalue(p) { return p !== 0 && p < 0.001 ? p.toExponential(2) : num(p); }

  // A series as people say it: "this topic", "the email channel", "/invoices (failed requests)".
  function seriesWords(series) {
    var m = /^page:(.*):([a-z_]+)$/.exec(series);
    if (m) return m[1] + " (" + (SIGNAL_NOUNS[m[2]] || m[2].replace(/_/g, " ")) + ")";
    if (series.indexOf("topic:") === 0) return "this topic";
    if (series.indexOf("channel:") === 0) return "the " + series.slice(8) + " channel";
    if (series.indexOf("form:") === 0) return "form " + series.slice(5);
    return series.replace(":", " ");
  }

  function counted(n, noun) {
    return num(n) + " " + noun + (n === 1 ? "" : "s");
  }

  function showError(msg) {
    var e = $("error");
    e.textContent = msg || "";
    e.hidden = !msg;
  }

  // --- token and hash --------------------------------------------------------------------------
  function readHash() {
    var hash = location.hash.replace(/^#/, "");
    var params = {};
    hash.split("&").forEach(function (part) {
      var i = part.indexOf("=");
      if (i > 0) params[part.slice(0, i)] = decodeURIComponent(part.slice(i + 1));
    });
    if (params.token) {
      sessionStorage.setItem(KEY, params.token);
      var rest = params.id ? "#id=" + encodeURIComponent(params.id) : "";
      history.replaceState(null, "", location.pathname + location.search + rest);
    }
    var id = parseInt(params.id, 10);
    return id > 0 ? id : null;
  }

  // --- API -------------------------------------------------------------------------------------
  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ Authorization: "Bearer " + sessionStorage.getItem(KEY) }, options.headers || {});
    return GS.request(path, options).then(function (r) {  // a server that did not answer: GS.UNREACHABLE
      return r.json().catch(function () { return null; }).then(function (body) {
        if (r.status === 401) {
          sessionStorage.removeItem(KEY);
          $("login").hidden = false;
          $("incidents-app").hidden = true;
          var why = $("login-error");
          var said = String(body && body.error && body.error.message || "401 Unauthorized").replace(/\.$/, "");
          why.textContent = GS.tokenRefused(said);
          why.hidden = false;
        }
        if (!r.ok) {
          var err = body && body.error;
          var msg = err && err.message ? err.message : "The server answered " + r.status + ".";
          if (err && err.fields) {
            msg += " " + Object.keys(err.fields).map(function (k) {
              var v = err.fields[k];
              return k + ": " + (Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v);
            }).join("; ");
          }
          throw new Error(msg);
        }
        return body;
      });
    });
  }

  function send(method, path, body) {
    return api(path, { method: method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  // --- list ------------------------------------------------------------------------------------
  function badge(kind) {
    return el("span", "badge kind-" + String(kind).replace(/[^a-z_]/g, ""), GS.kindName(kind));
  }

  function statusTag(status) {
    return el("span", "status status-" + String(status).replace(/[^a-z]/g, ""), status);
  }

  // What an empty list says: nothing matches the search; or none of this status (and kind), which on the
  // active and all tabs is "yet" and not "All quiet" while the detector is still reading a backlog (reading,
  // from backlog()), and just none when that is not known (the status could not be read).
  function emptyWords(reading) {
    if (state.q) return "No incidents here match “" + state.q + "”.";
    var kind = state.kind ? GS.kindName(state.kind).toLowerCase() + " incidents" : null;
    if (reading) {
      return (state.filter === "active" ? "No active " + (kind || "incidents") : "No " + (kind || "incidents")) +
        " yet: the detector is still reading history.";
    }
    var words = kind ? EMPTY[state.filter].replace(/incidents/, kind) : EMPTY[state.filter];
    return kind || reading === undefined ? words.replace(/ All quiet\.$/, "") : words;
  }

  // Whether the detector is still reading a backlog, from the dashboard's source (GET /api/v1/status, the same
  // token), by the dashboard's rule (page.js reading): null when it has caught up, else what is left; undefined
  // when the status could not be read.
  function backlog() {
    return api("/api/v1/status").then(GS.reading, function () { return undefined; });
  }

  // What is left to read, in a line apart from the list's status line (which screen readers read out on each
  // change: the count changes on every refresh while the detector reads): the events to go, or, between an
  // import's bursts, when its latest one arrived.
  function backlogLine(reading) {
    var more = $("list-backlog");
    setText(more, !reading ? "" : reading.pending
      ? GS.toGo(reading) + "; incidents appear a few minutes after it catches up."
      : "History is still arriving (the latest at " + clock(reading.arrivedAt) + "); incidents appear a few " +
        "minutes after the detector has read it all.");
    more.hidden = !reading;
  }

  function listLoading() {  // the filters changed: the list is read again from the start
    state.listSig = null;
    $("list-state").hidden = false;
    setText($("list-state"), "Loading incidents…");
    backlogLine(null);
    $("incident-list").replaceChildren();
  }

  function renderList(data, reading) {
    var list = $("incident-list");
    // Drawn again only when the answer changed: a card that has the keyboard keeps it.
    var sig = filters() + "\n" + JSON.stringify(reading) + "\n" + JSON.stringify(data.incidents) + "\n" + data.total;
    if (sig === state.listSig) return;
    state.listSig = sig;
    var focused = list.contains(document.activeElement) && document.activeElement.dataset.id;
    list.replaceChildren();
    var stateLine = $("list-state");
    backlogLine(data.incidents.length ? null : reading);
    if (!data.incidents.length) {
      setText(stateLine, emptyWords(reading));
      stateLine.hidden = false;
      return;
    }
    stateLine.hidden = data.total <= data.incidents.length;
    setText(stateLine, "Showing the " + data.incidents.length + " most recent of " + data.total + ".");
    data.incidents.forEach(function (inc) {
      var li = el("li");
      var b = el("button", "incident-item");
      b.type = "button";
      b.dataset.id = String(inc.id);
      if (inc.id === state.selected) b.setAttribute("aria-current", "true");
      var head = el("span", "item-head");
      head.appendChild(badge(inc.kind));
      head.appendChild(statusTag(inc.status));
      head.appendChild(el("span", "item-id", "#" + inc.id));
      b.appendChild(head);
      b.appendChild(el("strong", "item-title", inc.title));
      b.appendChild(el("span", "item-sentence", localSentence(inc)));
      var who = inc.kind === "friction" ?  // in-app friction: the page's sessions, no tickets or accounts
        counted((inc.evidence || {}).sessions, "session") + " · " + counted(inc.requester_count, "signed-in user") + " · " :
        counted(inc.ticket_count, "ticket") + " · " + counted(inc.requester_count, "customer") + " · " +
        counted(inc.account_count, "account") + " · ";
      b.appendChild(el("span", "item-meta", who + "first seen " + when(inc.first_seen_at) + " · detected " +
        when(inc.detected_at)));
      b.addEventListener("click", function () { select(inc.id); });
      li.appendChild(b);
      list.appendChild(li);
    });
    var again = focused && list.querySelector('.incident-item[data-id="' + focused + '"]');
    if (again) again.focus({ preventScroll: true });
  }

  function filters() {  // the list's filters as a query string (after "?")
    var status = FILTERS[state.filter];
    return (status ? "status=" + status : "") + (state.kind ? "&kind=" + encodeURIComponent(state.kind) : "") +
      (state.q ? "&q=" + encodeURIComponent(state.q) : "");
  }

  function exportCsv() {  // fetched with the token, then saved through a blob link
    var button = $("export");
    button.disabled = true;
    GS.request("/api/v1/incidents/export?" + filters(), {
      headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) }
    }).then(function (r) {
      if (!r.ok) throw new Error("The export failed: the server answered " + r.status + ".");
      var name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
      return r.blob().then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = name ? name[1] : "groundswell-incidents.csv";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
      });
    }).catch(function (e) { showError(e.message); }).then(function () { button.disabled = false; });
  }

  function loadList() {
    var seq = state.listSeq = (state.listSeq || 0) + 1;
    return api("/api/v1/incidents?limit=100&" + filters()).then(function (data) {
      if (seq !== state.listSeq) return null;  // the filters changed while it loaded: a newer answer is coming
      var empty = !data.incidents.length && !state.q && (state.filter === "active" || state.filter === "all");
      return (empty ? backlog() : Promise.resolve(null)).then(function (reading) {
        return seq === state.listSeq ? { data: data, reading: reading } : null;
      });
    }).then(function (got) {
      if (!got) return;
      var data = got.data;
      renderList(data, got.reading);
      // After a change of search, kind or tab, an open incident the list no longer shows is closed (it would
      // sit beside "no incidents match"); on a plain refresh, or opened by its link, it stays. A list cut at
      // its first 100 may just not reach it: then it stays too.
      if (state.filtersChanged && state.selected && data.total <= data.incidents.length &&
          !data.incidents.some(function (inc) { return inc.id === state.selected; })) {
        history.replaceState(null, "", location.pathname + location.search);
        show(null, false);
      }
      announceArrivals(data);
      state.filtersChanged = false;
      state.answeredAt = Date.now();
      setText($("updated"), "Updated " + clock(state.answeredAt));
      // Side by side (wide screens), the newest incident opens beside the list the first time there is one,
      // rather than an empty pane; on a narrow screen the list stays first. Closing it is respected.
      if (!state.opened && !state.selected && data.incidents.length &&
          window.matchMedia("(min-width: 861px)").matches) {
        state.opened = true;
        show(data.incidents[0].id, false);
      }
    });
  }

  // A new incident arriving in the list is said once on the page's status line: not on the first load, nor
  // after a change of search, kind or tab, nor for one detected long before that comes back (a reopening
  // says so in its own history), nor for one a person brought back (an undone merge: its Undo says so), nor
  // for one this page has listed or shown before.
  var ARRIVAL_SLACK = 15 * 60000;  // the server's clock and the reader's may differ a little

  function announceArrivals(data) {
    var listed = {}, before = state.listed, since = state.listedAt, seen = Object.assign({}, state.seen);
    data.incidents.forEach(function (inc) { listed[inc.id] = state.seen[inc.id] = true; });
    state.listed = listed;
    state.listedAt = Date.now();
    if (!before || state.filtersChanged) return;
    var fresh = data.incidents.filter(function (inc) {
      return !before[inc.id] && !seen[inc.id] && inc.status === "open" && inc.status_by === "detector" &&
        Date.parse(inc.detected_at) >= since - ARRIVAL_SLACK;
    });
    if (!fresh.length) return;
    $("incident-news").textContent = fresh.length === 1 ?
      "New incident #" + fresh[0].id + ": " + fresh[0].title + "." :
      fresh.length + " new incidents: " + fresh.map(function (inc) { return "#" + inc.id; }).join(", ") + ".";
  }

  // --- detail ----------------------------------------------------------------------------------
  // Text naming a page's path, which a narrow screen wraps after a slash rather than inside a word (the
  // browser breaks a path nowhere else; the page's overflow-wrap then cuts it where the line ends).
  function pathText(text) {
    var span = el("span");
    String(text).split(/(\/)(?=\S)/).forEach(function (part, i, parts) {
      if (!part) return;
      span.appendChild(document.createTextNode(part));
      // after each slash but a path's first ("/demo/acme" wraps as "/demo/" and "acme", never "/" alone)
      if (part === "/" && parts[i - 1] && !/\s$/.test(parts[i - 1])) span.appendChild(document.createElement("wbr"));
    });
    return span;
  }

  function term(dl, name, value) {
    if (value === null || value === undefined || value === "") return;
    dl.appendChild(el("dt", null, name));
    var dd = el("dd");
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    dl.appendChild(dd);
  }

  // The demo's agent page (/demo/zendesk), when this server serves the demo pages: then the tenant's Zendesk is
  // the demo's stand-in, whose tickets that page shows, and https://<subdomain>.zendesk.com is someone else's.
  function agentPage() {
    return $("incidents-app").dataset.agentPage || null;
  }

  // The tenant's Zendesk, where a ticket opens at /agent/tickets/<id> (an organization at /agent/organizations/):
  // its address when known and not the demo's stand-in.
  function zendesk(inc) {
    return !agentPage() && typeof inc.zendesk_url === "string" &&
      /^https:\/\/[a-z0-9-]+\.zendesk\.com$/.test(inc.zendesk_url) ? inc.zendesk_url : null;
  }

  // "#<id>", a link opening the ticket in a new tab: in the tenant's Zendesk when its address is known, and in
  // the demo on its agent page (#ticket=<id> opens it there). That page is this server's own and takes the
  // API token from the tab it is opened from (rel="opener" lets the browser give the new tab a copy of this
  // tab's session storage), so the token never goes into an address; opened another way (a middle click,
  // "open in new tab"), the page asks for the token, then opens the ticket.
  function ticketRef(inc, t) {
    var base = zendesk(inc), demo = agentPage();
    if (!(base || demo) || !/^[0-9]{1,20}$/.test(String(t))) return document.createTextNode("#" + t);
    var a = el("a", null, "#" + t);
    a.target = "_blank";
    if (base) {
      a.href = base + "/agent/tickets/" + t;
      a.rel = "noopener noreferrer";
    } else {
      a.href = demo + "#ticket=" + t;
      a.rel = "opener";
      a.title = "Ticket #" + t + " on the demo's agent page";
    }
    return a;
  }

  // The incident's tickets, each a link into the tenant's Zendesk or, in the demo, to its agent page.
  function ticketIds(inc) {
    var box = el("div");
    var p = el("p", "ticket-ids");
    box.appendChild(p);
    if (!inc.ticket_ids.length) { p.textContent = "None attached."; return box; }
    inc.ticket_ids.forEach(function (t, i) {
      if (i) p.appendChild(document.createTextNode(" "));
      p.appendChild(ticketRef(inc, t));
    });
    var demo = agentPage();
    if (demo) {
      var hint = el("p", "hint agent-page", "In the demo these tickets are in its stand-in Zendesk: a number opens " +
        "the ticket on ");
      var a = el("a", null, "the agent page");
      a.href = demo;
      a.target = "_blank";
      a.rel = "opener";
      hint.appendChild(a);
      hint.appendChild(document.createTextNode(" in a new tab."));
      box.appendChild(hint);
    }
    return box;
  }

  // How unlikely a rise this size is by chance, in words ("Far beyond chance: about 1 in 10²⁵"); the exact
  // p-value and surprise (−log10 p) follow as a smaller hint and in the title. Tails beyond a double's range
  // are stored as 0 with the surprise held at 300.
  var SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";

  function unusual(inc) {
    var p = inc.p_value;
    if (typeof p !== "number") return null;
    var beyond = p < 1e-300, odds;
    if (beyond) {
      odds = "less than 1 in 10³⁰⁰";
    } else {
      var n = Number((1 / p).toPrecision(2));
      odds = "about 1 in " + (n < 1e6 ? Math.round(n).toLocaleString() : n < 1e9 ? num(n / 1e6) + " million"
        : n < 1e12 ? num(n / 1e9) + " billion"
        : "10" + String(Math.round(Math.log10(1 / p))).split("").map(function (d) { return SUPERSCRIPT[+d]; }).join(""));
    }
    var bits = beyond ? 300 : -Math.log10(p);
    var words = p >= 0.05 ? "Could be chance" : bits < 3 ? "Unlikely by chance" : bits < 8 ? "Very unlikely by chance"
      : "Far beyond chance";
    var exact = beyond ? "p-value < 1e-300, surprise > 300" : "p-value " + pvalue(p) + ", surprise " + num(inc.surprise);
    var dd = el("span", null, words + ": " + odds + " ");
    dd.appendChild(el("span", "hint", "(" + exact + ")"));
    dd.title = exact + " (the p-value is the chance of a change at least this large in ordinary hours; the surprise, " +
      "−log10 of it)";
    return dd;
  }

  // Where the incident is, as people say it: "this topic (invoice pdf · blank)", "the email channel",
  // "/invoices (failed requests)", "Kestrel Logistics (organization 900002)".
  function where(inc) {
    var ev = inc.evidence || {}, series = String(inc.series || "");
    if (!series) return null;
    var words = series === "all" ? "all tickets" : typeof ev.series_label === "string" && ev.series_label
      ? ev.series_label : seriesWords(series);
    var span = pathText(words + (inc.topic ? " (" + inc.topic.label + ")" : ""));
    span.title = "series " + series;
    return span;
  }

  // The evidence's window as people say it: "2 h", "30 min" ("" when it names none).
  // Observed and expected say what they count and over which window. A ticket incident's figures are those of
  // the window that made it most unusual (the detector keeps the evidence of its smallest p-value); a friction
  // incident's, of the hour it names ("in the hour from 16:00"). The chart beside them counts per hour.
  function evidenceList(inc) {
    var ev = inc.evidence || {};
    var dl = el("dl", "evidence");
    var lower = ev.lower, upper = ev.upper;
    if (Array.isArray(ev.band)) { lower = ev.band[0]; upper = ev.band[1]; }
    // (a friction incident's counts may be of a later hour than the one that opened it: counts_hour_at)
    var countsHour = ev.counts_hour_at || ev.window_start_at;
    var hour = inc.kind === "friction" && countsHour ? "the hour from " + clock(countsHour) : "";
    var length = GS.chart.windowSpan(ev);
    // A friction hour judged per visitor expects what its visitors usually bring; while that hour is open, what
    // its visitors so far bring, which grows with them (not a whole hour's).
    var judged = hour ? GS.chart.judged(inc) : null;
    var soFar = judged && judged.soFar ? " so far" : "";
    var span = hour ? " in " + hour + soFar : length ? " in its most unusual " + length : "";
    var same = judged && judged.visitors ? (soFar ? " from the hour's " + counted(judged.visitors, "visitor") + " so far"
      : " from that hour's " + counted(judged.visitors, "visitor"))
      : hour ? " in that hour" : length ? " in those " + length : "";
    var measure = ev.measure || (inc.kind === "friction" ? SIGNAL_NOUNS[ev.signal] : "");
    if (inc.kind === "sentiment") {
      // A tone, not a count: the window's mean VADER score against the segment's usual mean and the band of
      // such a mean. (Incidents from before that evidence carried the ticket count as `observed`.)
      var tone = (ev.segments || []).filter(function (s) { return s && s.name === "mean_sentiment"; })[0];
      var toneNow = typeof ev.observed === "number" && Math.abs(ev.observed) <= 1 ? num(ev.observed) : (tone ? tone.value : "—");
      var tickets = ev.window_tickets !== undefined ? ev.window_tickets : ev.observed;
      var toneBand = typeof ev.lower === "number" && typeof ev.upper === "number" && ev.lower < ev.upper
        ? " (normal " + num(ev.lower) + " to " + num(ev.upper) + ")" : "";
      term(dl, "Observed", "mean sentiment " + toneNow + " on a -1 to +1 scale (-1 most negative) over " + num(tickets) +
        " tickets" + span);
      term(dl, "Expected", ev.expected !== undefined ? "mean sentiment " + num(ev.expected) + toneBand : null);
    } else {
      var unit = measure ? " " + measure : "";
      term(dl, "Observed", ev.observed !== undefined ? num(ev.observed) + unit + span : null);
      term(dl, "Expected", ev.expected !== undefined ? num(ev.expected) + unit + same +
        (lower !== undefined && upper !== undefined ? "; usual range " + num(lower) + "–" + num(upper) : "") : null);
    }
    term(dl, "How unusual", unusual(inc));
    term(dl, "Direction", inc.direction);
    if (inc.kind !== "friction") {  // a friction incident's people are its page's sessions (below)
      term(dl, "Customers", inc.requester_count);
      term(dl, "Accounts", inc.account_count);
      term(dl, "Tickets", inc.ticket_count);
    }
    term(dl, "Where", where(inc));
    term(dl, "First seen", when(inc.first_seen_at));
    term(dl, "Detected", when(inc.detected_at));
    if (inc.resolved_at) term(dl, "Resolved", when(inc.resolved_at));
    term(dl, "Status", inc.status + " · by " + inc.status_by + " · " + when(inc.status_changed_at));
    // A sentiment incident's one "segment" is its mean tone, already under Observed.
    var shares = Array.isArray(ev.segments)
      ? ev.segments.filter(function (s) { return !(s && s.name === "mean_sentiment"); }) : [];
    if (shares.length) {
      var segs = el("ul", "plain");
      shares.forEach(function (s) {
        var named = typeof s === "object" && s && typeof s.label === "string" && s.label;
        var text = typeof s === "object" && s ? (s.name || "") + " = " +
          (named ? s.label + " (" + (s.value || "") + ")" : (s.value || "")) +
          (s.share !== undefined ? ": " + Math.round(s.share * 100) + "% of the window" : "") +
          (s.baseline_share !== undefined ? " (usually " + Math.round(s.baseline_share * 100) + "%)" : "") : String(s);
        segs.appendChild(el("li", null, text));
      });
      term(dl, "Segments", segs);
    }
    var mood = ev.sentiment;  // on a rise whose tickets are clearly angrier than the topic's usual
    if (mood && typeof mood.mean === "number" && typeof mood.usual === "number") {
      term(dl, "Tone", "mean sentiment " + num(mood.mean) + " on a -1 to +1 scale (-1 most negative)" +
        (mood.tickets ? " over " + counted(mood.tickets, "ticket") : "") + "; usually " + num(mood.usual));
    }
    if (Array.isArray(ev.top_terms) && ev.top_terms.length) {
      term(dl, "Top terms", ev.top_terms.map(function (t) { return Array.isArray(t) ? t[0] : t; }).join(" · "));
    }
    if (ev.release && typeof ev.release === "object") {
      var r = ev.release;
      term(dl, "Release", (r.version || "") + (r.minutes_before !== undefined ? ", deployed " + r.minutes_before +
        " min before first seen" : r.deployed_at ? ", deployed " + when(r.deployed_at) : "") +
        (r.description ? ": " + r.description : ""));
    }
    if (ev.merged_into_incident) term(dl, "Merged into", "#" + ev.merged_into_incident);
    if (inc.kind === "friction" && ev.path) {  // widget friction: the page, its signals, who met it
      var signals = Array.isArray(ev.signals) && ev.signals.length ? ev.signals :
        [{ signal: ev.signal, observed: ev.observed, expected: ev.expected }];
      term(dl, "Page", pathText(ev.path + " · " + num(ev.sessions) + " sessions, " + num(ev.users) + " signed-in users"));
      var sigs = el("ul", "plain");
      signals.forEach(function (x) {
        var open = x.so_far === true || (x.so_far === undefined && x.signal === ev.signal && soFar);
        sigs.appendChild(el("li", null, String(x.signal || "").replace(/_/g, " ") + ": " + num(x.observed) +
          (open && x.visitors ? " in its worst hour so far, " + num(x.expected) + " expected from its " +
            counted(x.visitors, "visitor") + " so far"
            : " in its worst hour, usually " + num(x.expected) + (x.visitors ? " from its " + num(x.visitors) +
              " visitors" : ""))));
      });
      term(dl, "Signals", sigs);
    }
    if (Array.isArray(ev.pages) && ev.pages.length) {  // where requesters met friction before writing
      var pages = el("ul", "plain");
      ev.pages.forEach(function (p) {
        var pct = function (x) { return x < 0.01 ? "under 1%" : Math.round(100 * x) + "%"; };
        // the page's usual share of customers who write, and its share among those writing beside the incident
        var now = typeof p.recent_share === "number" && p.recent_tickets
          ? ", " + pct(p.recent_share) + " of the other customers who wrote in the last 6 h" : "";
        var usual = typeof p.usual_share === "number"
          ? "; usually " + pct(p.usual_share) + " of customers who write had been there just before" + now +
            (p.associated ? ": far more here, a likely place to look" : "")
          : "";
        var li = el("li");
        li.appendChild(pathText(String(p.path) + ": " + counted(p.users, "customer") + ", " +
          counted(p.sessions, "session") + usual));
        pages.appendChild(li);
      });
      term(dl, "Pages before the tickets", pages);
    }
    return dl;
  }

  function representatives(inc) {
    var reps = (inc.evidence && inc.evidence.representatives) || [];
    if (!Array.isArray(reps) || !reps.length) return null;
    var ul = el("ul", "representatives");
    reps.forEach(function (r) {
      var li = el("li");
      var id = el("strong");
      id.appendChild(r.ticket_id ? ticketRef(inc, r.ticket_id) : document.createTextNode("#?"));
      li.appendChild(id);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(document.createTextNode(r.text || ""));
      ul.appendChild(li);
    });
    return ul;
  }

  // What an action did, or what changed in the open incident meanwhile, said once to screen readers (the page's
  // status line, #incident-news, there before any text arrives) and shown under the actions while that
  // incident stays open.
  function announce(text) {
    $("incident-news").textContent = text;
    var shown = document.querySelector("#incident-detail .detail-done");
    if (shown) { shown.textContent = text; shown.hidden = !text; }
  }

  function actionButton(label, attrs, handler) {
    var b = el("button", attrs.cls || null, label);
    b.type = "button";
    b.dataset.action = attrs.action;
    b.addEventListener("click", function () {
      var by = $("by").value.trim();
      if (!by) {
        detailError("Enter your name first: status changes and feedback record who made them.");
        $("by").focus();
        return;
      }
      if (attrs.confirm && b.dataset.armed !== "1") {  // why, said first; a second click goes ahead
        b.dataset.armed = "1";
        b.textContent = attrs.anyway;
        announce(attrs.confirm);
        return;
      }
      localStorage.setItem(BY_KEY, by);
      b.disabled = true;  // (a disabled button loses focus: the detail puts it back on the redrawn one)
      handler(by).then(function (inc) {
        if (inc.id !== state.selected) return loadList().catch(listError);  // another one was opened meanwhile
        detailError("");
        var said = typeof attrs.done === "function" ? attrs.done(inc, by) : attrs.done || "";  // before drawing
        renderDetail(inc, attrs.action);
        announce(said);
        loadList().catch(listError);
        document.dispatchEvent(new Event("gs-incident-changed"));  // sections that count incidents reload
      }).catch(function (err) { b.disabled = false; detailError(GS.notSaved(attrs.what || label, err)); });
    });
    return b;
  }

  // Notifications (Slack, webhooks, PagerDuty) held back for a while: this incident's, or its series'.
  var MUTE_HOURS = [[1, "1 hour"], [4, "4 hours"], [24, "1 day"], [168, "7 days"]];

  function muteControls(inc) {
    var box = el("div", "mute");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Notifications");
    var m = inc.mute;
    if (m) {
      // the series in the words of the button that muted it ("everything on this topic")
      var what = m.scope === "incident" ? "this incident"
        : "everything on " + (m.series === inc.series ? seriesWords(m.series) : m.series.replace(":", " "));
      box.appendChild(el("span", "muted-line", "Notifications muted for " + what + " until " + when(m.until) +
        (m.by ? " · by " + m.by : "") + (m.reason ? " · " + m.reason : "")));
      box.appendChild(actionButton("Unmute", { action: "unmute", cls: "secondary" }, function () {
        return api("/api/v1/mutes/" + m.id, { method: "DELETE" }).then(function () {
          return api("/api/v1/incidents/" + inc.id);
        });
      }));
      return box;
    }
    var label = el("label", null, "Mute notifications for ");
    var hours = el("select");
    hours.id = "mute-hours";
    MUTE_HOURS.forEach(function (h) {
      var o = el("option", null, h[1]);
      o.value = String(h[0]);
      o.defaultSelected = h[0] === 4;  // the default: a choice away from it is someone's work under way
      hours.appendChild(o);
    });
    label.appendChild(hours);
    box.appendChild(label);
    function mute(body) {
      return function (by) {
        body.hours = Number(hours.value);
        body.by = by;
        return send("POST", "/api/v1/mutes", body).then(function () { return api("/api/v1/incidents/" + inc.id); });
      };
    }
    box.appendChild(actionButton("This incident", { action: "mute-incident", cls: "secondary", what: "The mute" },
      mute({ incident_id: inc.id })));
    if (inc.series && inc.series !== "all") {
      box.appendChild(actionButton("Everything on " + seriesWords(inc.series), { action: "mute-series", cls: "secondary",
                                                                                 what: "The mute" },
        mute({ series: inc.series })));
    }
    return box;
  }

  // One problem the detector saw twice: a person merges this incident into another active one of the
  // same family (volume, drop, sentiment); in-app friction incidents stay beside them as related.
  var FAMILY = { spike: "volume", new_topic: "volume", concentration: "volume", drop: "drop", sentiment: "sentiment" };

  function mergeControls(inc) {
    if (!FAMILY[inc.kind] || (inc.status !== "open" && inc.status !== "acknowledged")) return null;
    var box = el("div", "mute merge");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Merge");
    var label = el("label", null, "Same problem as ");
    var into = el("select");
    into.id = "merge-into";
    into.appendChild(el("option", null, "another active incident…"));
    into.firstChild.value = "";
    into.firstChild.defaultSelected = true;
    label.appendChild(into);
    box.appendChild(label);
    var button = el("button", "secondary", "Merge into it");
    button.type = "button";
    button.dataset.action = "merge";
    button.disabled = true;
    box.appendChild(button);
    api("/api/v1/incidents?status=open,acknowledged&limit=200").then(function (data) {
      var others = data.incidents.filter(function (o) { return o.id !== inc.id && FAMILY[o.kind] === FAMILY[inc.kind]; });
      // The likeliest first: those related to this one (the most tickets in common first), then the others by
      // how close to this one they were first seen.
      var related = {}, mine = Date.parse(inc.first_seen_at);
      relatedShown(inc).forEach(function (r) { related[r.id] = r; });
      function apart(o) { return Math.abs(Date.parse(o.first_seen_at) - mine) || 0; }
      others.sort(function (a, b) {
        var ra = related[a.id], rb = related[b.id];
        if (!!ra !== !!rb) return ra ? -1 : 1;
        if (ra) return (rb.shared_tickets || 0) - (ra.shared_tickets || 0);
        return apart(a) - apart(b);
      });
      var near = others.filter(function (o) { return related[o.id]; });
      var groups = near.length ? [el("optgroup"), el("optgroup")] : [into, into];
      if (near.length) {
        groups[0].label = "Related to this one";
        groups[1].label = "Other active incidents, first seen nearest in time first";
      }
      others.forEach(function (o) {
        var r = related[o.id], why = r && r.shared_tickets ?
          " (" + GS.count(r.shared_tickets) + (r.shared_tickets === 1 ? " ticket" : " tickets") + " in common)" : "";
        var opt = el("option", null, "#" + o.id + " " + o.title + why);
        opt.value = String(o.id);
        groups[r ? 0 : 1].appendChild(opt);
      });
      if (near.length) groups.forEach(function (g) { if (g.children.length) into.appendChild(g); });
      if (!others.length) into.firstChild.textContent = "no other active incident of this kind";
      into.disabled = !others.length;
    }).catch(function (err) { detailError(err.message); });
    into.addEventListener("change", function () {
      button.disabled = !into.value;
      button.dataset.armed = "";
      button.textContent = "Merge into it";
    });
    button.addEventListener("click", function () {
      var by = $("by").value.trim();
      if (!by) {
        detailError("Enter your name first: status changes and feedback record who made them.");
        $("by").focus();
        return;
      }
      var target = Number(into.value);
      if (button.dataset.armed !== "1") {  // a second click confirms (Undo merge takes it back, from either one)
        button.dataset.armed = "1";
        button.textContent = "Merge #" + inc.id + " into #" + target + "? Click again";
        return;
      }
      localStorage.setItem(BY_KEY, by);
      button.disabled = true;
      var tickets = (inc.ticket_ids || []).slice();  // what the detector moves, as this page last read them
      send("POST", "/api/v1/incidents/" + inc.id + "/merge", { into: target, by: by }).then(function (kept) {
        var head = "Merged #" + inc.id + " into #" + kept.id + " by " + by;
        var said = follow({ kind: "merge", gone: inc.id, keep: kept.id, shown: kept.id, tickets: tickets, words: {
          moving: head + "; its tickets are moving to #" + kept.id + ", the counts update in a few seconds.",
          done: function (keep) {
            return head + ": its tickets have joined this one, now " + counted(keep.ticket_count, "ticket") +
              " from " + counted(keep.requester_count, "customer") + ".";
          },
          late: head + ", but the detector has not moved its tickets yet: the counts here leave them out until it does."
        } }, kept, null);
        var shown = select(kept.id);
        loadList().catch(listError);
        document.dispatchEvent(new Event("gs-incident-changed"));
        return shown.then(function () {
          if (state.selected === kept.id) announce(said);
        });
      }).catch(function (err) { button.disabled = false; detailError(GS.notSaved("The merge", err)); });
    });
    return box;
  }

  function mergeNote(inc) {
    var ev = inc.evidence || {};
    var into = ev.merged_into_incident, merged = Array.isArray(ev.merged_incidents) ? ev.merged_incidents : [];
    if (!into && !merged.length) return null;
    var p = el("p", "merge-note");
    function link(id) {
      var b = el("button", "link", "#" + id);
      b.type = "button";
      b.dataset.related = String(id);
      b.addEventListener("click", function () { select(id); });
      return b;
    }
    if (into) {
      p.appendChild(document.createTextNode("Merged into "));
      p.appendChild(link(into));
      p.appendChild(document.createTextNode(": its tickets and later ones are there. "));
      if (inc.status_by !== "detector") {  // a person's merge; the detector's (one topic now) stands
        p.appendChild(actionButton("Undo merge", { action: "unmerge", cls: "secondary", done: function (after) {
          var head = "Merge undone by " + after.status_by + ": incident #" + after.id + " is " + after.status +
            " again";
          return follow({ kind: "unmerge", gone: after.id, keep: into, shown: after.id,
                          since: after.status_changed_at, words: {
            moving: head + "; its tickets are moving back from #" + into + ", the counts update in a few seconds.",
            done: head + " and has its tickets back from #" + into + ".",
            late: head + ", but the detector has not moved its tickets back from #" + into + " yet: #" + into +
              " still counts them until it does."
          } }, null, after);
        } }, function (by) {
          return send("POST", "/api/v1/incidents/" + inc.id + "/unmerge", { by: by });
        }));
      }
    } else {
      // Each one merged here is a link to it and, while this one is active (a merge is undone only then), has
      // its Undo beside it: a mistaken merge is taken back from where the person is.
      var active = inc.status === "open" || inc.status === "acknowledged";
      p.appendChild(document.createTextNode("Merged into this one: "));
      merged.forEach(function (id, i) {
        if (i) p.appendChild(document.createTextNode(", "));
        p.appendChild(link(id));
        if (active) {
          p.appendChild(document.createTextNode(" "));
          p.appendChild(undoMergeHere(inc, id));
        }
      });
      p.appendChild(document.createTextNode("."));
    }
    return p;
  }

  // "Undo merge" on the incident that stayed, for incident `id` merged into it: that one is active again (the
  // server answers with it); this one is read again and drawn without it, its tickets once the detector has
  // moved them back (follow).
  function undoMergeHere(inc, id) {
    var back = null;
    var b = actionButton("Undo merge", { action: "unmerge-" + id, cls: "secondary", done: function (after, by) {
      var head = "Merge undone by " + by + ": #" + id + " is " + (back ? back.status : "open") +
        " again, apart from #" + after.id;
      return follow({ kind: "unmerge", gone: id, keep: after.id, shown: after.id, since: back && back.status_changed_at,
                      words: {
        moving: head + "; its tickets are moving back to #" + id + ", the counts update in a few seconds.",
        done: head + ", with its own tickets.",
        late: head + ", but the detector has not moved its tickets back yet: the counts here still hold them " +
          "until it does."
      } }, after, back);
    } }, function (by) {
      return send("POST", "/api/v1/incidents/" + id + "/unmerge", { by: by }).then(function (gone) {
        back = gone;
        state.seen[id] = true;  // back in the active list, but no new incident
        return api("/api/v1/incidents/" + inc.id);
      });
    });
    b.setAttribute("aria-label", "Undo merge of #" + id);
    return b;
  }

  // --- a merge or its undo, until the detector has moved the tickets ------------------------------
  // The API records a merge (or its undo) at once, statuses and links, and answers; the detector moves the
  // tickets, customers and accounts when it reads the change, a few seconds later. Until then the incident that
  // stayed counts what it had before, and the two still share the tickets on their way. So the page says they
  // are moving, reads the two again every FOLLOW_MS for FOLLOW_TRIES rounds until an answer shows the move,
  // then says it is done and draws it; past that it says plainly that the detector has not moved them yet, and
  // goes on looking at the page's refresh pace, FOLLOW_LAST rounds in all (about five minutes), then stops
  // following (a merge the detector found nothing to move for, such as one into an incident that had ended).
  // While a change is followed (moving), the two are not said to have tickets in common (relatedShown), and
  // their counts changing is not news. A later merge or undo replaces the one followed.
  var FOLLOW_MS = 1000, FOLLOW_TRIES = 20, FOLLOW_LAST = 40;
  var moving = null;

  function holds(list, id) { return Array.isArray(list) && list.indexOf(id) >= 0; }

  // Whether the detector has moved them, from the answers for the incident that stayed (keep) and the one merged
  // into it (gone). A merge: `keep` names `gone` in its merged_incidents and holds every ticket `gone` had. An
  // undo: `keep` no longer names it, and the detector has written `gone` since (it records the undo's time as
  // its last activity), or `keep` no longer holds all of `gone`'s tickets (it held them all while merged).
  function moved(m, keep, gone) {
    if (!keep) return false;
    var mine = keep.ticket_ids || [], merged = holds((keep.evidence || {}).merged_incidents, m.gone);
    if (m.kind === "merge") return merged && m.tickets.every(function (t) { return mine.indexOf(t) >= 0; });
    if (merged || !gone) return false;
    return Date.parse(gone.last_activity_at) >= Date.parse(m.since) ||
      (gone.ticket_ids || []).some(function (t) { return mine.indexOf(t) < 0; });
  }

  // Starts following change m ({ kind: "merge" or "unmerge", gone, keep, shown: the incident the person sees,
  // tickets: a merge's, since: an undo's time, words: { moving, done, late } }) from the answers at hand
  // (either may be null), and returns what to say now: done when they already show the move.
  function follow(m, keep, gone) {
    if (moved(m, keep, gone)) {
      moving = null;
      return words(m, "done", keep);
    }
    m.tries = 0;
    moving = m;
    clearTimeout(state.following);
    state.following = setTimeout(function () { followRound(m); }, FOLLOW_MS);
    return m.words.moving;
  }

  function words(m, which, keep) {
    var w = m.words[which];
    return typeof w === "function" ? w(keep) : w;
  }

  function followRound(m) {
    if (moving !== m) return;
    m.tries += 1;
    var drawn = detail.drawn;
    var reads = [api("/api/v1/incidents/" + m.keep)];
    if (m.kind === "unmerge") reads.push(api("/api/v1/incidents/" + m.gone));
    function again() {
      if (moving !== m) return;
      if (m.tries >= FOLLOW_LAST) {  // no longer followed: the page shows the incidents as the server has them
        moving = null;
        detail.sig = "";
        if (detail.known && !busy()) renderDetail(detail.known);
        return;
      }
      if (m.tries === FOLLOW_TRIES && state.selected === m.shown) announce(m.words.late);
      state.following = setTimeout(function () { followRound(m); }, m.tries < FOLLOW_TRIES ? FOLLOW_MS : REFRESH_MS);
    }
    Promise.all(reads).then(function (got) {
      if (moving !== m) return;  // replaced by a later merge or undo: this answer is not about it
      var keep = got[0], gone = got[1] || null;
      if (!moved(m, keep, gone)) return again();
      moving = null;
      // Drawn again, without holding back the tickets in common: the answer read, unless something drew the
      // incident since it was asked for (a refresh, an action: as new or newer); the same incident only.
      var fresh = state.selected === keep.id ? keep : gone && state.selected === gone.id ? gone : null;
      if (fresh && detail.shown && detail.shown.id === fresh.id) {
        if (detail.drawn === drawn) {
          detail.known = fresh;
          detail.knownSig = signature(fresh);
        }
        detail.sig = "";  // drawn again now, or once the person is done there (drawWaiting)
        if (!busy()) renderDetail(detail.known);
      }
      if (state.selected === m.shown) announce(words(m, "done", keep));
      loadList().catch(listError);
      document.dispatchEvent(new Event("gs-incident-changed"));
    }, again);
  }

  // The incident's related incidents as drawn: while a merge or its undo is followed, the other one of the two is
  // not said to share tickets with it (those are the tickets on their way), and is left out when that was all.
  function relatedShown(inc) {
    var other = !moving ? null : inc.id === moving.keep ? moving.gone : inc.id === moving.gone ? moving.keep : null;
    return (Array.isArray(inc.related) ? inc.related : []).map(function (r) {
      return r.id === other ? Object.assign({}, r, { shared_tickets: 0 }) : r;
    }).filter(function (r) { return r.id !== other || (r.pages || []).length > 0; });
  }

  // What was sent about the incident: each event, to Slack and to each webhook, and how it went.
  var STATE_WORDS = { pending: "waiting", delivered: "sent", failed: "failed", muted: "muted",
                      not_configured: "not configured" };

  // How one send went: its state in a word and, unless it was muted or never set up, why in a sentence as the
  // alerts section says it (page.js, GS.problem), with the attempts one still waiting has made so far. A sent
  // one keeps its answer for its title.
  function target(name, to, t) {
    var span = el("span", "note-target state-" + t.state, name + ": " + (STATE_WORDS[t.state] || t.state));
    if (t.state === "muted" || t.state === "not_configured") return span;
    if (t.state === "delivered") {
      var answer = [t.status ? "HTTP " + t.status : "", t.attempts > 1 ? "after " + t.attempts + " attempts" : ""];
      span.title = answer.filter(Boolean).join(" ");
      return span;
    }
    var why = t.error ? GS.problem(t.error, to, t.status) : t.status ? "HTTP " + t.status : "";
    if (t.state === "pending" && t.attempts > 0) why += (why ? "; " : "") + counted(t.attempts, "attempt") + " so far";
    if (why) {
      span.title = why;
      span.textContent += " (" + why + ")";
    }
    return span;
  }

  // Slack not set up is said once, above the list, with the way to set it up; each event then names only where
  // it went (or was held back, or failed).
  function notificationList(notes) {
    var box = el("div", "notifications-box");
    function unset(n) { return !n.slack || n.slack.state === "not_configured"; }
    var missing = notes.filter(unset).length;
    if (missing) {
      var p = el("p", "hint slack-unset", missing === notes.length ? "Slack: not configured, so none of these went " +
        "there. Set it up under " : "Slack: not configured for " + missing + " of these " + notes.length +
        " (sent before it was set up, or after it was turned off); they did not go there. See ");
      var a = el("a", null, "Where alerts go");
      a.href = "#alerts";
      a.addEventListener("click", function (ev) {
        ev.preventDefault();  // the address keeps the open incident (#id=)
        GS.goToSection("alerts");
      });
      p.appendChild(a);
      p.appendChild(document.createTextNode("."));
      box.appendChild(p);
    }
    var ul = el("ul", "plain notifications");
    notes.forEach(function (n) {
      var li = el("li");
      li.appendChild(el("strong", null, n.event));
      li.appendChild(document.createTextNode(" · " + when(n.created_at)));
      var to = [];
      if (!unset(n)) to.push(target("Slack", "slack", n.slack));
      (n.webhooks || []).forEach(function (w) {
        var pagerduty = w.format === "pagerduty";
        to.push(target((pagerduty ? "PagerDuty" : "webhook") + " #" + w.webhook_id +
          (w.description ? " (" + w.description + ")" : ""), pagerduty ? "pagerduty" : "webhook", w));
      });
      if (!to.length) to.push(el("span", "note-target state-not_configured", "sent nowhere"));
      to.forEach(function (t) {
        li.appendChild(document.createTextNode(" · "));
        li.appendChild(t);
      });
      ul.appendChild(li);
    });
    box.appendChild(ul);
    return box;
  }

  function detailError(msg) {
    var e = document.querySelector("#incident-detail .detail-error");
    if (e) { e.textContent = msg; e.hidden = !msg; }
  }

  // Where the keyboard is in the detail, as a selector that finds the same place once it is drawn again: an
  // action's button, a control by its id, a related incident's link, the heading; null for the detail itself
  // (it stays) or outside it.
  function focusedPlace(box) {
    var a = document.activeElement;
    if (!a || a === box || !box.contains(a)) return null;
    if (a.dataset.action) return '[data-action="' + a.dataset.action + '"]';
    if (a.dataset.related) return '[data-related="' + a.dataset.related + '"]';
    if (a.id) return "#" + a.id;
    return "h2";
  }

  // The incident as drawn (shown, and its signature) and as last read (known and its signature: a redraw that
  // waits for the person is behind it); drawn counts the drawings.
  var detail = { shown: null, sig: "", known: null, knownSig: "", drawn: 0, picks: 0 };

  // What the detail draws from an answer: all of it but the times the open hour's counts run to, which move
  // on with every detector round while the counts stay.
  function signature(inc) {
    return JSON.stringify(inc, function (k, v) { return k === "as_of" ? undefined : v; });
  }

  function renderDetail(inc, refocus) {
    var box = $("incident-detail");
    var focused = refocus ? '[data-action="' + refocus + '"]' : focusedPlace(box);
    // Drawn again, the same incident keeps what it said under its actions and its error line.
    var same = detail.shown && detail.shown.id === inc.id;
    var said = same && box.querySelector(".detail-done"), wrong = same && box.querySelector(".detail-error");
    said = said && !said.hidden ? said.textContent : "";
    wrong = wrong && !wrong.hidden ? wrong.textContent : "";
    detail.shown = detail.known = inc;
    detail.sig = detail.knownSig = signature(inc);
    detail.drawn += 1;
    state.seen[inc.id] = true;
    box.replaceChildren();
    box.hidden = false;
    var head = el("div", "detail-head");
    head.appendChild(badge(inc.kind));
    head.appendChild(statusTag(inc.status));
    var close = el("button", "close", "Close");
    close.type = "button";
    close.dataset.action = "close";
    close.setAttribute("aria-label", "Close incident #" + inc.id);
    close.addEventListener("click", function () { select(null); });
    head.appendChild(close);
    box.appendChild(head);
    var heading = el("h2", null, inc.title + " (#" + inc.id + ")");
    heading.tabIndex = -1;  // where focus goes when an action took its button away
    box.appendChild(heading);
    box.appendChild(el("p", "sentence", localSentence(inc)));
    if (inc.llm_summary) {  // the model's words, from redacted tickets: text, and labelled as such
      var summary = el("p", "llm-summary");
      summary.appendChild(el("span", "llm-label", "Summary by Claude: "));
      summary.appendChild(document.createTextNode(inc.llm_summary));
      box.appendChild(summary);
    }
    // The problem ticket agents made from the Zendesk sidebar, where its customers' replies are coordinated.
    if (/^[0-9]{1,20}$/.test(String(inc.problem_ticket_id))) {
      var problem = el("p", "problem-ticket", "Problem ticket ");
      problem.appendChild(ticketRef(inc, inc.problem_ticket_id));
      box.appendChild(problem);
    }

    var actions = el("div", "actions");
    actions.setAttribute("role", "group");
    actions.setAttribute("aria-label", "Incident actions");
    var mergedAway = (inc.evidence || {}).merged_into_incident;
    ACTIONS.forEach(function (a) {
      if (a.from.indexOf(inc.status) < 0) return;
      if (mergedAway && a.status === "open") return;  // the other one carries it: "Undo merge" brings it back
      // the next step stands out; the step after it, going back (to open, reopen) and "not a problem"
      // (dismiss) do not
      var cls = a.cls || ((a.primary || []).indexOf(inc.status) < 0 ? "secondary" : null);
      var b = actionButton(a.label, { action: "status-" + a.status, cls: cls, done: function (after) {
        // its status only when it is not the one asked for (someone, or the detector, changed it meanwhile)
        return a.done + " by " + after.status_by + (after.status === a.status ? "."
          : ": incident #" + after.id + " is " + after.status + ".");
      }, confirm: a.status === "resolved" ? GS.chart.stillHigh(inc) : null, anyway: a.label + " anyway" }, function (by) {
        return send("PATCH", "/api/v1/incidents/" + inc.id + "/status", { status: a.status, by: by });
      });
      if (a.title) b.title = a.title;
      actions.appendChild(b);
    });
    [["useful", "Mark useful", inc.useful_count], ["noise", "Mark noise", inc.noise_count]].forEach(function (v) {
      actions.appendChild(actionButton(v[1] + " (" + v[2] + ")", { action: v[0], cls: "secondary verdict", what: v[1],
                                                                   done: function (after, by) {
        return verdictWords(verdictOf(inc, by), v[0], by);
      } }, function (by) { return send("POST", "/api/v1/incidents/" + inc.id + "/feedback", { verdict: v[0], by: by }); }));
    });
    pressVerdict(actions, inc);
    box.appendChild(actions);
    var done = el("p", "hint detail-done", said);
    done.hidden = !said;
    box.appendChild(done);
    var note = mergeNote(inc);
    if (note) box.appendChild(note);
    box.appendChild(muteControls(inc));
    var merging = mergeControls(inc);
    if (merging) box.appendChild(merging);
    var err = el("p", "detail-error", wrong);
    err.setAttribute("role", "alert");
    err.hidden = !wrong;
    box.appendChild(err);

    // A change of tone on a plan or an organization has no volume series of its own: its evidence says it.
    if (inc.volume && inc.volume.length) {
      box.appendChild(el("h3", null, "Hourly volume"));
      box.appendChild(GS.chart.draw(inc));
      box.appendChild(GS.chart.legend(inc, GS.chart.units(inc)));
      box.appendChild(GS.chart.note(inc, GS.chart.units(inc)));
    } else if (inc.kind !== "sentiment") {
      box.appendChild(el("h3", null, "Hourly volume"));
      box.appendChild(el("p", "hint", "No hourly volume recorded for this series yet."));
    }
    box.appendChild(el("h3", null, "Evidence"));
    box.appendChild(evidenceList(inc));
    var relatedNow = relatedShown(inc);
    if (relatedNow.length) {
      // The same problem seen another way: the page's own failures, or the tickets they caused; a change of
      // tone and the rise of the same tickets.
      box.appendChild(el("h3", null, "Related incidents"));
      var rel = el("ul", "plain related");
      relatedNow.forEach(function (r) {
        var li = el("li");
        var link = el("button", "link", "#" + r.id + " " + r.title);
        link.type = "button";
        link.dataset.related = String(r.id);
        link.addEventListener("click", function () { select(r.id); });
        li.appendChild(badge(r.kind));
        li.appendChild(link);
        // why it is the same problem: the pages both name, and the tickets both hold
        var why = (r.pages || []).slice();
        if (r.shared_tickets) why.push(GS.count(r.shared_tickets) + (r.shared_tickets === 1 ? " ticket" : " tickets") + " in common");
        li.appendChild(document.createTextNode(" · " + r.status + (why.length ? " · " + why.join(", ") : "")));
        rel.appendChild(li);
      });
      box.appendChild(rel);
    }
    if (Array.isArray(inc.accounts) && inc.accounts.length) {
      // Who is hit: the organizations its tickets came from, for customer success as much as support.
      box.appendChild(el("h3", null, "Accounts affected (" + inc.accounts_total + ")"));
      var accts = el("ul", "plain accounts-affected");
      inc.accounts.forEach(function (a) {
        var li = el("li");
        var name = (a.name ? a.name + " " : "") + "(organization " + a.organization_id + ")";
        if (zendesk(inc)) {
          var link = el("a", null, name);
          link.href = zendesk(inc) + "/agent/organizations/" + encodeURIComponent(a.organization_id);
          link.target = "_blank";
          link.rel = "noopener noreferrer";
          li.appendChild(link);
        } else {
          li.appendChild(el("span", null, name));
        }
        li.appendChild(document.createTextNode(": " + a.tickets + (a.tickets === 1 ? " ticket" : " tickets") + " from " +
          a.requesters + (a.requesters === 1 ? " person" : " people") + ", first " + when(a.first_ticket_at)));
        accts.appendChild(li);
      });
      box.appendChild(accts);
      if (inc.accounts_total > inc.accounts.length) {
        box.appendChild(el("p", "hint", "The " + inc.accounts.length + " with the most tickets of " + inc.accounts_total + "."));
      }
    }
    var reps = representatives(inc);
    if (reps) { box.appendChild(el("h3", null, "Representative tickets")); box.appendChild(reps); }
    box.appendChild(el("h3", null, "Tickets (" + inc.ticket_ids.length + ")"));
    box.appendChild(ticketIds(inc));
    if (Array.isArray(inc.notifications) && inc.notifications.length) {
      box.appendChild(el("h3", null, "Notifications"));
      box.appendChild(notificationList(inc.notifications));
    }
    if (Array.isArray(inc.history) && inc.history.length) {  // what happened, and who did what
      box.appendChild(el("h3", null, "History"));
      var ol = el("ol", "plain history");
      inc.history.forEach(function (h) {
        var li = el("li", "history-" + String(h.event).replace(/[^a-z_]/g, ""));
        li.appendChild(el("span", "hint", when(h.at) + " · "));
        li.appendChild(document.createTextNode(h.text));
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
    if (focused) {  // the same place, or when the action took it away (Acknowledge), the incident's heading
      var again = box.querySelector(focused) || box.querySelector("h2");
      if (again) again.focus({ preventScroll: true });
    }
  }

  // The verdict the person named in "Your name" left on the incident is shown pressed (aria-pressed, and the
  // pressed style), as the Zendesk sidebar shows the agent's; the other one is not. Named again, the page
  // presses theirs.
  function pressVerdict(actions, inc) {
    var mine = verdictOf(inc, $("by").value.trim());
    actions.querySelectorAll("button.verdict").forEach(function (b) {
      var on = b.dataset.action === mine;
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.title = on ? "Your verdict: marking the other one replaces it" : "";
    });
  }

  // A person's verdict on the incident as drawn (the latest they left), or null.
  function verdictOf(inc, by) {
    var mine = (inc.feedback || []).filter(function (f) { return f.by === by; });
    return mine.length ? mine[mine.length - 1].verdict : null;
  }

  // What marking did: one verdict a person, so the same one again changes nothing and the other replaces theirs.
  function verdictWords(before, verdict, by) {
    if (before === verdict) return "Already marked " + verdict + " by " + by + ": nothing changed.";
    if (before) return "Marked " + verdict + " by " + by + ", replacing their " + before + ".";
    return "Marked " + verdict + " by " + by + ". One verdict a person: marking it " +
      (verdict === "useful" ? "noise" : "useful") + " would replace it.";
  }

  // --- the open incident, read again ------------------------------------------------------------
  // A refresh draws the open incident again only when the answer differs from what is shown, and never while
  // the person is in the middle of something there: focus in one of its fields or choices, a choice changed
  // from its default (mute for 7 days, a merge target), a button armed for its second click. The newer answer
  // waits and is drawn once they are done (focus leaves, the choice goes back) or replaced by what their
  // action brings; a focused button or link does not hold it (the redraw puts focus back on its twin).
  // Changes that matter are said through the page's status line; the detail itself is not live.
  var CONTROLS = "select, input, textarea";

  function changedFromDefault(c) {
    if (c.tagName === "SELECT") {
      var options = Array.prototype.slice.call(c.options);
      var usual = options.filter(function (o) { return o.defaultSelected; })[0] || options[0];
      return !!usual && !usual.selected;
    }
    if (c.type === "checkbox" || c.type === "radio") return c.checked !== c.defaultChecked;
    return c.value !== c.defaultValue;
  }

  function busy() {
    var box = $("incident-detail"), a = document.activeElement;
    if (box.hidden) return false;
    if (a && a !== box && box.contains(a) && a.matches(CONTROLS)) return true;
    if (box.querySelector('[data-armed="1"]')) return true;
    return Array.prototype.some.call(box.querySelectorAll("select, input, textarea"), changedFromDefault);
  }

  // What changed that a person wants to hear, between two answers for the same incident ("" for nothing).
  function news(before, after) {
    var head = "Incident #" + after.id + " ";
    if (after.status !== before.status) {
      return head + "is " + after.status + " now" + (after.status_by ? " (" + after.status_by + ")" : "") + ".";
    }
    if (after.kind === "friction") {
      var was = (before.evidence || {}).sessions, now = (after.evidence || {}).sessions;
      return now > was ? head + "grew: " + counted(now, "session") + " on " + (after.evidence.path || "its page") + "." : "";
    }
    var followed = moving && (after.id === moving.keep || after.id === moving.gone);  // said when it is done
    if (!followed && (after.ticket_count > before.ticket_count || after.requester_count > before.requester_count)) {
      return head + "grew: " + counted(after.ticket_count, "ticket") + " from " +
        counted(after.requester_count, "customer") + ".";
    }
    return "";
  }

  // A newer answer for the incident shown: said when it matters, drawn when it differs and nobody is busy there.
  function update(inc) {
    var said = detail.known ? news(detail.known, inc) : "";
    detail.known = inc;
    detail.knownSig = signature(inc);
    if (detail.knownSig !== detail.sig && !busy()) renderDetail(inc);
    if (said) announce(said);
  }

  // Someone finished what they were doing in the detail: the answer that waited is drawn (after the browser has
  // moved focus on).
  function drawWaiting() {
    setTimeout(function () {
      if (detail.known && detail.shown && detail.known.id === detail.shown.id && state.selected === detail.known.id &&
          detail.knownSig !== detail.sig && !busy()) {
        renderDetail(detail.known);
      }
    }, 0);
  }

  function loadDetail(id, focus) {
    var box = $("incident-detail");
    if (focus) {
      detail.shown = detail.known = null;
      box.hidden = false;
      box.replaceChildren(el("p", "hint", "Loading incident #" + id + "…"));
    }
    var drawn = detail.drawn, pick = focus ? ++detail.picks : detail.picks;
    // Drawn since this reading was asked for (a later pick's answer, an action's, a refresh's): that drawing
    // is as new as this answer or newer, which is dropped. Picked twice in a row, an incident shows the
    // answer to the latest pick even when the first one's arrives last; and a pick's answer arriving after
    // a later pick (A, then B, then A again) is dropped whatever was drawn in between.
    function drawnSince() { return detail.drawn !== drawn && !!detail.shown && detail.shown.id === id; }
    function overtaken() { return focus && pick !== detail.picks; }
    return api("/api/v1/incidents/" + id).then(function (inc) {
      if (state.selected !== id || overtaken()) return;
      if (!focus && detail.shown && detail.shown.id === id) {  // read again while shown
        if (!drawnSince()) update(inc);
        return;
      }
      var keyboard = drawnSince() && box.contains(document.activeElement);  // there already: left where it is
      if (!drawnSince()) renderDetail(inc);
      if (focus && !keyboard) {  // its top in view (focusing the tall detail scrolled a phone to its middle)
        box.focus({ preventScroll: true });
        // Under the list (a narrow screen), a detail starting in the lower part of the screen shows a strip of
        // itself under the card tapped: it is brought up too. Beside the list, the list stays where it was.
        var top = box.getBoundingClientRect().top, list = $("incident-list").getBoundingClientRect();
        var under = list.bottom <= top + 1;
        if (top < 0 || top > window.innerHeight * (under ? 0.4 : 1)) box.scrollIntoView({ block: "start" });
      }
    }).catch(function (err) {
      // a reading that failed while the incident is shown (or after a later one drew it) leaves it as shown
      if (state.selected !== id || overtaken() ||
          (detail.shown && detail.shown.id === id && (!focus || drawnSince()))) return;
      detail.shown = detail.known = null;
      box.hidden = false;
      var msg = el("p", "detail-error", "Could not load incident #" + id + ": " + err.message);
      msg.setAttribute("role", "alert");
      box.replaceChildren(msg);
    });
  }

  // Opens an incident (or, with null, closes the one open), as a person asked; resolves once it is drawn.
  // What had the keyboard when a person opened one from outside the detail (its card, mostly) is kept to give
  // the keyboard back to when it closes.
  function select(id) {
    state.opened = true;
    var a = document.activeElement, box = $("incident-detail");
    if (id && a && a !== document.body && !box.contains(a)) state.opener = a;
    var base = location.pathname + location.search;
    var url = base + (id ? "#id=" + id : "");
    if (url !== base + location.hash) history.pushState(null, "", url);
    return show(id, true);
  }

  // Where the keyboard goes when the detail closes while it had it (Escape, Close, the browser's Back) or had
  // nowhere (on the page itself): to what opened it (a card redrawn meanwhile: its twin), else the closed
  // incident's card, else the list's tab. Elsewhere (the search field) it stays.
  function giveKeyboardBack(closed) {
    var a = document.activeElement, box = $("incident-detail"), opener = state.opener;
    state.opener = null;
    if (a && a !== document.body && !box.contains(a)) return;
    function card(id) { return id ? document.querySelector('.incident-item[data-id="' + id + '"]') : null; }
    var to = opener && opener.isConnected && !box.contains(opener) ? opener
      : card(opener && opener.dataset && opener.dataset.id) || card(closed) ||
        document.querySelector('#tabs [aria-selected="true"]');
    if (to) to.focus();
  }

  function show(id, focus) {
    var closed = state.selected;
    state.selected = id;
    document.querySelectorAll(".incident-item").forEach(function (b) {
      if (parseInt(b.dataset.id, 10) === id) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    });
    if (!id) {
      var box = $("incident-detail");
      var had = !box.hidden && closed;
      if (had) giveKeyboardBack(closed);
      detail.shown = detail.known = null;
      box.hidden = true;
      box.replaceChildren();
      return Promise.resolve();
    }
    return loadDetail(id, focus);
  }

  // --- tabs, refresh, start --------------------------------------------------------------------
  function setFilter(name, focus) {
    state.filter = name;
    state.filtersChanged = true;
    document.querySelectorAll("#tabs [role=tab]").forEach(function (t) {
      var on = t.dataset.filter === name;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      if (on) {
        $("incident-list").setAttribute("aria-labelledby", t.id);
        if (focus) t.focus();
      }
    });
    listLoading();
    refresh();
  }

  // A list that could not be read: the cards shown stay, said to be the last answer, and from when (the time
  // beside the tabs no longer says "Updated"); the next refresh (REFRESH_MS) tries again and, answered, draws
  // the list, its status line and its time again.
  function listError(err) {
    state.listSig = null;
    $("list-state").hidden = false;
    setText($("list-state"), state.answeredAt && $("incident-list").children.length ? GS.stale(err, state.answeredAt)
      : "Could not load incidents: " + err.message);
    if (state.answeredAt) setText($("updated"), "Not updated since " + clock(state.answeredAt));
  }

  function refresh() {
    clearTimeout(state.timer);
    if (!sessionStorage.getItem(KEY)) return;
    var jobs = [loadList().then(function () { showError(""); }).catch(listError)];
    if (state.selected) jobs.push(loadDetail(state.selected, false));
    Promise.all(jobs).then(function () {
      state.timer = setTimeout(refresh, REFRESH_MS);
    });
  }

  function start() {
    $("login").hidden = true;
    $("incidents-app").hidden = false;
    show(readHash(), false);
    refresh();
  }

  // A mute ended under "Where alerts go": the open incident reads again, so it no longer says it is muted.
  document.addEventListener("gs-mutes-changed", function () {
    if (state.selected && sessionStorage.getItem(KEY)) loadDetail(state.selected, false);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var id = readHash();
    $("by").value = localStorage.getItem(BY_KEY) || "";
    $("by").addEventListener("input", function () {  // their verdict, pressed, follows the name
      var actions = document.querySelector("#incident-detail .actions");
      if (actions && detail.shown) pressVerdict(actions, detail.shown);
    });
    function reload() {
      state.filtersChanged = true;
      listLoading();
      refresh();
    }
    var kind = $("kind-filter");
    if (kind) {
      kind.addEventListener("change", function () {
        state.kind = kind.value;
        reload();
      });
    }
    var search = $("search"), typing = null;
    search.addEventListener("input", function () {  // a pause in typing, then one request
      clearTimeout(typing);
      typing = setTimeout(function () {
        var q = search.value.trim();
        if (q === state.q) return;
        state.q = q;
        reload();
      }, 300);
    });
    $("export").addEventListener("click", exportCsv);
    var tabs = Array.prototype.slice.call(document.querySelectorAll("#tabs [role=tab]"));
    tabs.forEach(function (t, i) {
      t.addEventListener("click", function () { setFilter(t.dataset.filter, false); });
      t.addEventListener("keydown", function (ev) {
        var next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
        if (next === undefined) return;
        ev.preventDefault();
        setFilter(tabs[(next + tabs.length) % tabs.length].dataset.filter, true);
      });
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && state.selected && !$("incident-detail").hidden) select(null);
    });
    window.addEventListener("hashchange", function () {  // a section's name (#alerts) is not an incident's
      if (/[=]/.test(location.hash) || !location.hash) show(readHash(), true);
    });
    $("incident-detail").addEventListener("focusout", drawWaiting);
    $("incident-detail").addEventListener("change", drawWaiting);
    window.addEventListener("popstate", function () { show(readHash(), false); });
    $("login").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var token = GS.pastedToken($("token").value);
      if (!token) {
        $("login-error").textContent = GS.BAD_TOKEN;
        $("login-error").hidden = false;
        return;
      }
      sessionStorage.setItem(KEY, token);
      $("token").value = "";
      $("login-error").hidden = true;
      start();
      GS.tokenGiven();
    });
    if (!sessionStorage.getItem(KEY)) { $("login").hidden = false; return; }
    state.selected = id;
    start();
  });
})();
