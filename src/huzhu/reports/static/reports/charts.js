// Draws each <div data-chart="ID"> from the JSON in <script id="ID">. The table beside each
// chart holds the same numbers, so the page is usable before any chart is drawn: plotly.js
// (its basic bundle, bar and scatter: about a quarter of the full one; vendor/ holds it
// with its licence) is fetched only when the page has charts, after the first paint, and
// never holds up the page's load.
(function () {
  var script = document.currentScript;
  var charts = document.querySelectorAll("[data-chart]");
  if (!charts.length) { return; }

  function draw() {
    charts.forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source) { return; }
      var d = JSON.parse(source.textContent);
      if (!d.x || d.x.length === 0) { el.innerHTML = '<p class="text-secondary small">没有数据</p>'; return; }
      var traces = [{type: "bar", x: d.x, y: d.y, name: d.name, marker: {color: "#b5262b"}}];
      var layout = {margin: {t: 10, r: 50, b: 80, l: 70}, showlegend: !!d.y2,
                    legend: {orientation: "h"}, font: {size: 12},
                    xaxis: {type: "category", automargin: true}};  // "2026-01", not "Jan"
      if (d.horizontal) {  // long tier names read better down the side
        traces = [{type: "bar", orientation: "h", x: d.y, y: d.x, name: d.name,
                   marker: {color: "#b5262b"}}];
        layout.margin = {t: 10, r: 20, b: 40, l: 260};
        layout.yaxis = {autorange: "reversed", automargin: true};
        layout.xaxis = {automargin: true};
        el.style.height = Math.max(240, 22 * d.x.length + 60) + "px";
      }
      if (d.y2) {
        traces.push({type: "scatter", mode: "lines+markers", x: d.x, y: d.y2, name: d.name2,
                     yaxis: "y2", line: {color: "#555"}});
        layout.yaxis2 = {overlaying: "y", side: "right", rangemode: "tozero"};
      }
      // No mode bar: its buttons speak English ("Zoom in", "Download plot as a png"),
      // and the tables and the Excel export carry the numbers.
      Plotly.newPlot(el, traces, layout, {displaylogo: false, responsive: true,
                                          displayModeBar: false});
    });
  }

  function load() {
    if (typeof Plotly !== "undefined") { draw(); return; }
    var tag = document.createElement("script");
    tag.src = script.dataset.plotly;
    tag.async = true;
    tag.onload = draw;
    document.head.appendChild(tag);
  }

  // After the page has painted (the next frame, then a task), so that the tables and
  // headline figures show at once and the download does not delay the load event.
  function later() { requestAnimationFrame(function () { setTimeout(load, 0); }); }
  if (document.readyState === "complete") { later(); }
  else { window.addEventListener("load", later); }
})();
