// Equity charts with Chart.js (vendored UMD build, window.Chart). Each <canvas data-curve="KEY"> draws one series
// from the JSON embedded by the page: {"KEY": [{"time_ms": ..., "equity": "..."}]} in #equity-curves, or the
// subscription's [{"time_ms", "pnl"}] in #subscription-curve. Amounts arrive as strings (no float rounding on the
// server); they are parsed only to draw.
(function () {
  "use strict";
  if (!window.Chart) return;

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function day(ms) {
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  }

  var curves = readJSON("equity-curves") || {};
  var subscription = readJSON("subscription-curve");
  if (subscription) curves.subscription = subscription;

  document.querySelectorAll("canvas[data-curve]").forEach(function (canvas) {
    var points = curves[canvas.dataset.curve] || [];
    var field = canvas.dataset.field || "equity";
    if (points.length < 2) return;
    var data = points.map(function (p) { return { x: p.time_ms, y: parseFloat(p[field]) }; });
    var first = data[0].y;
    var last = data[data.length - 1].y;
    var rising = field === "pnl" ? last >= 0 : last >= first;
    var colour = rising ? "#1a7f37" : "#b42318";
    new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: [{
          label: field === "pnl" ? "Cumulative P&L" : "Equity",
          data: data,
          borderColor: colour,
          backgroundColor: colour + "22",
          fill: true,
          pointRadius: data.length > 60 ? 0 : 2,
          borderWidth: 2,
          tension: 0,
        }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: function (items) { return day(items[0].parsed.x) + " UTC"; } } },
        },
        scales: {
          x: { type: "linear", min: data[0].x, max: data[data.length - 1].x, ticks: { maxTicksLimit: 6, callback: function (v) { return day(v).slice(0, 10); } } },
          y: { ticks: { maxTicksLimit: 6 } },
        },
      },
    });
  });
})();
