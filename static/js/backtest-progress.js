// The progress bar of a running backtest: polls the run's JSON status and moves the <progress> element; once the
// run is finished it reloads the page, which then shows the results. Without JavaScript the page refreshes itself
// (a <meta http-equiv="refresh"> inside <noscript>).
(function () {
  "use strict";
  var box = document.getElementById("backtest-status");
  if (!box || box.dataset.finished === "true" || !window.fetch) return;
  var bar = box.querySelector("progress");
  var label = box.querySelector("[data-status-label]");
  var text = box.querySelector("[data-progress-text]");
  var POLL_MS = 700;

  function show(status) {
    bar.value = status.finished && status.status === "DONE" ? 100 : status.progress_pct;
    bar.textContent = bar.value + " %";
    label.textContent = status.status_label;
    if (status.candles_total) {
      text.textContent = status.candles_done + " of " + status.candles_total + " candles (" + status.progress_pct + " %).";
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (status.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, POLL_MS);
        }
      })
      .catch(function () {
        window.setTimeout(poll, POLL_MS * 4); // a restarting server: try again, more slowly
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
