// Acme Billing's own script: a tiny single-page app whose actions fail on purpose (see server/demo/acme.py).
(function () {
  "use strict";
  var gs = function () { if (typeof window.groundswell === "function") window.groundswell.apply(null, arguments); };
  var base = document.body.getAttribute("data-base").replace(/\/$/, "");
  var query = document.body.getAttribute("data-query");  // "?csp=strict" on the strict-CSP variant
  var $ = function (id) { return document.getElementById(id); };
  var say = function (id, text) { $(id).textContent = text; };
  var post = function (path, body) {
    return fetch(base + "/api/" + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
    });
  };

  // Each browser is its own signed-in Acme user (an id kept in this browser), so the help tips' daily cap
  // (per user) is each visitor's own, not shared by everyone trying the demo that day.
  function visitor() {
    var id = null;
    try { id = localStorage.getItem("acme.user"); } catch (e) { /* storage blocked: a new id each page */ }
    if (!/^acme-user-[0-9a-f]{12}$/.test(id || "")) {
      var bytes = new Uint8Array(6);
      crypto.getRandomValues(bytes);
      id = "acme-user-" + Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
      try { localStorage.setItem("acme.user", id); } catch (e) { /* kept for this page only */ }
    }
    return id;
  }
  gs("identify", visitor(), { accountId: "acct-7" });

  function show(page, push) {
    var views = document.querySelectorAll(".view");
    for (var i = 0; i < views.length; i++) views[i].hidden = views[i].id !== "view-" + page;
    var links = document.querySelectorAll("[data-route]");
    for (var j = 0; j < links.length; j++) {
      if (links[j].getAttribute("data-route") === page) links[j].setAttribute("aria-current", "page");
      else links[j].removeAttribute("aria-current");
    }
    if (push) history.pushState({ page: page }, "", base + "/" + page + query);
    document.title = $("h-" + page).textContent + " · Acme Billing";  // as the server titles the page
    if (page === "upgrade") step(1);
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("[data-route]");
    if (!a || e.metaKey || e.ctrlKey) return;
    e.preventDefault();
    show(a.getAttribute("data-route"), true);
  });
  window.addEventListener("popstate", function () {
    var page = location.pathname.slice(base.length + 1) || "billing";
    show(["billing", "invoices", "upgrade"].indexOf(page) >= 0 ? page : "billing", false);
  });

  $("pay").addEventListener("click", function () {
    say("pay-status", "Processing…");
    post("pay").then(function (r) {
      say("pay-status", r.ok ? "Paid. Thank you!" : "Payment failed. Please try again.");
    }, function () { say("pay-status", "Network error."); });
  });
  // "Export statement" does nothing at all: a dead click.
  $("report").addEventListener("click", function () {
    var usage = null;
    say("pay-status", "Report for " + usage.period);  // throws: an uncaught TypeError
  });

  $("card-form").addEventListener("submit", function (e) {
    e.preventDefault();
    say("pay-status", "Card saved.");
  });
  $("coupon-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = $("coupon");
    post("coupon", { code: input.value }).then(function (r) {
      if (r.ok) {
        input.removeAttribute("aria-invalid");
        say("coupon-status", "Coupon applied: 10% off.");
      } else {
        input.setAttribute("aria-invalid", "true");
        say("coupon-status", "That coupon is not valid.");
      }
    });
  });

  var buttons = document.querySelectorAll(".download");
  for (var k = 0; k < buttons.length; k++) {
    buttons[k].addEventListener("click", function (e) {
      var id = e.currentTarget.getAttribute("data-invoice");
      post("invoices/" + id + "/download").then(function (r) {
        say("invoice-status", r.ok ? "Downloaded." : "The PDF could not be generated.");
      });
    });
  }

  var current = 1;
  var texts = ["", "Pro: $99 a month, unlimited invoices.", "Enter your billing details.", "Confirm your upgrade."];
  function step(n) {
    current = n;
    var items = document.querySelectorAll(".steps li");
    for (var i = 0; i < items.length; i++) {
      if (Number(items[i].getAttribute("data-step")) === n) items[i].setAttribute("aria-current", "step");
      else items[i].removeAttribute("aria-current");
    }
    say("step-text", texts[Math.min(n, 3)]);
    gs("flow", "upgrade", n, 4);  // a declared flow: plan, details, confirm, then 4 = upgraded
  }
  $("next-step").addEventListener("click", function () {
    if (current < 3) step(current + 1);
    else say("step-text", "Upgrading is unavailable right now.");
  });

  show(document.body.getAttribute("data-page"), false);
})();
