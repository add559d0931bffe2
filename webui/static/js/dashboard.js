// The managers' dashboard: draws the charts from the JSON data block the page carries (the same figures as
// the tables beside them, which screen readers read instead: the canvases are aria-hidden).
(function () {
  "use strict";
  var block = document.getElementById("dashboard-data");
  if (!block || typeof Chart === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var colours = { cases: "#0d6efd", overdue: "#dc3545", paid: "#198754", denied: "#6c757d" };
  var common = { responsive: true, animation: false, plugins: { legend: { position: "bottom" } },
                 scales: { x: { ticks: { autoSkip: false } }, y: { beginAtZero: true, ticks: { precision: 0 } } } };

  function bar(id, labels, datasets, options) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new Chart(canvas, { type: "bar", data: { labels: labels, datasets: datasets },
                        options: Object.assign({}, common, options || {}) });
  }

  bar("chart-steps", data.steps.labels, [
    { label: data.labels.cases, data: data.steps.cases, backgroundColor: colours.cases },
    { label: data.labels.overdue, data: data.steps.overdue, backgroundColor: colours.overdue }
  ], { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } });
  bar("chart-overdue", data.overdue.labels, [
    { label: data.labels.overdue, data: data.overdue.tasks, backgroundColor: colours.overdue }
  ]);
  if (data.claims) {
    bar("chart-claims", data.claims.labels, [
      { label: data.labels.paid, data: data.claims.paid, backgroundColor: colours.paid },
      { label: data.labels.denied, data: data.claims.denied, backgroundColor: colours.denied }
    ]);
  }
}());
