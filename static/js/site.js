// Small progressive enhancements, loaded on every page by base.html; every form works without them (the server
// validates everything).
(function () {
  "use strict";

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // Subscribe form: offer only the pairs of the chosen exchange and the timeframes of the chosen pair; show the
  // mainnet confirmation only for mainnet.
  var subscribe = document.getElementById("subscribe-form");
  if (subscribe) {
    var markets = readJSON(subscribe.dataset.markets) || {};
    var exchange = subscribe.querySelector("[name=exchange_type]");
    var pair = subscribe.querySelector("[name=trading_pair]");
    var timeframe = subscribe.querySelector("[name=timeframe]");
    var confirm = document.getElementById("mainnet-confirm");

    var restrict = function (select, allowed) {
      var firstAllowed = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var ok = allowed.indexOf(option.value) !== -1;
        option.hidden = !ok;
        option.disabled = !ok;
        if (ok && firstAllowed === null) firstAllowed = option.value;
      });
      if (allowed.indexOf(select.value) === -1 && firstAllowed !== null) select.value = firstAllowed;
    };
    var refreshPairs = function () {
      var pairs = markets[exchange.value] || {};
      restrict(pair, Object.keys(pairs));
      restrict(timeframe, pairs[pair.value] || []);
    };
    var refreshMode = function () {
      var mode = subscribe.querySelector("[name=mode]:checked");
      if (confirm) confirm.hidden = !(mode && mode.value === "mainnet");
    };
    exchange.addEventListener("change", refreshPairs);
    pair.addEventListener("change", function () { restrict(timeframe, (markets[exchange.value] || {})[pair.value] || []); });
    subscribe.querySelectorAll("[name=mode]").forEach(function (radio) { radio.addEventListener("change", refreshMode); });
    refreshPairs();
    refreshMode();
  }

  // Catalog: on a phone the filters start folded (unless some are applied), so the bots come first.
  var filters = document.getElementById("filters");
  if (filters && window.matchMedia("(max-width: 900px)").matches && !window.location.search) {
    filters.open = false;
  }

  // A form that asks first (deleting a key, cancelling a subscription): <form data-confirm="question">. This
  // replaces inline onsubmit handlers, which the Content-Security-Policy refuses.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // A value shown once to copy (a new API key): selected when focused.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  // Credentials form: the passphrase only for the exchanges that issue one (Coinbase).
  var credentialForm = document.getElementById("credential-form");
  if (credentialForm) {
    var exchangeSelect = credentialForm.querySelector("[name=exchange]");
    var passphrase = credentialForm.querySelector("[name=passphrase]");
    var group = passphrase && passphrase.closest("div");
    var refreshPassphrase = function () { if (group) group.hidden = exchangeSelect.value !== "COINBASE"; };
    exchangeSelect.addEventListener("change", refreshPassphrase);
    refreshPassphrase();
  }
})();
