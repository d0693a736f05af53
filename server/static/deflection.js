// Incidents page, widget section: ticket rate of nudged sessions against the holdout
// (GET /api/v1/widget/measurement), with the 95% intervals. Same token as the incidents list;
// everything is rendered as text.
(function () {
  "use strict";

  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }
  function interval(ci, signed) {
    if (!Array.isArray(ci)) return "";
    var f = function (v) { return (signed && v > 0 ? "+" : "") + (v * 100).toFixed(1); };
    return " (95% interval " + f(ci[0]) + " to " + f(ci[1]) + (signed ? " points)" : "%)");
  }
  function row(table, cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (c, i) {
      var td = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) td.scope = "row";
      td.textContent = c;
      tr.appendChild(td);
    });
    table.appendChild(tr);
  }

  function render(box, m) {
    var table = document.createElement("table");
    table.className = "deflection";
    var head = document.createElement("tr");
    ["Group", "Sessions", "With a ticket within 24 h", "Rate"].forEach(function (h) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      head.appendChild(th);
    });
    table.appendChild(head);
    row(table, ["Nudged", String(m.nudged.sessions), String(m.nudged.tickets), pct(m.nudged.rate) + interval(m.nudged.interval)]);
    row(table, ["Holdout (would have been nudged)", String(m.holdout.sessions), String(m.holdout.tickets),
                pct(m.holdout.rate) + interval(m.holdout.interval)]);
    var sentence = document.createElement("p");
    sentence.textContent = m.sentence;
    var note = document.createElement("p");
    note.className = "hint";
    note.textContent = "Last " + m.days + " days. Difference " +
      (m.difference === null ? "—" : (m.difference * 100).toFixed(1) + " points") + interval(m.interval, true) +
      ". Still within their 24 hours: " + m.pending + "; without a signed-in user (not counted): " + m.anonymous + ".";
    box.replaceChildren(sentence, table, note);
  }

  function load() {
    var box = document.getElementById("deflection-body");
    if (!box || !GS.hasToken()) return;
    GS.call("GET", "/api/v1/widget/measurement")
      .then(function (m) { render(box, m); document.getElementById("deflection").hidden = false; })
      .catch(function (err) { box.textContent = "Could not load the widget measurement: " + err.message; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    load();
    GS.onToken(load);
    setInterval(load, 60000);
  });
})();
