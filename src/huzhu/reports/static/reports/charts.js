// Draws each <div data-chart="ID"> from the JSON in <script id="ID">. The table beside each
// chart holds the same numbers, so the page is usable before any chart is drawn: plotly.js
// (its basic bundle, bar and scatter: about a quarter of the full one; vendor/ holds it
// with its licence) is fetched only when the page has charts, after the first paint, and
// never holds up the page's load.
(function () {
  var script = document.currentScript;
  var charts = document.querySelectorAll("[data-chart]");
  if (!charts.length) { return; }

  // An axis of 人次 shows whole numbers only: plotly would tick 0, 0.5, 1 for a count
  // of one or two; below 6 every integer is a tick, above that plotly's own steps
  // (1, 2, 5 × 10ⁿ) are whole already.
  function countAxis(axis, values) {
    axis.tickformat = ",d";
    axis.rangemode = "tozero";
    if (Math.max.apply(null, values.concat([0])) < 6) { axis.dtick = 1; }
    return axis;
  }
  // An axis of amounts is titled with its unit (万元), two decimals on hover.
  function amountAxis(axis, name) {
    axis.title = {text: name.indexOf("万元") >= 0 ? "万元" : "", font: {size: 11}};
    axis.tickformat = ",~f";
    return axis;
  }

  function draw() {
    charts.forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source) { return; }
      var d = JSON.parse(source.textContent);
      if (!d.x || d.x.length === 0) { el.innerHTML = '<p class="text-secondary small">没有数据</p>'; return; }
      var hover = d.y_count ? "%{y:,d} 人次<extra></extra>" : "%{y:,.2f} 万元<extra></extra>";
      var traces = [{type: "bar", x: d.x, y: d.y, name: d.name, marker: {color: "#b5262b"},
                     hovertemplate: hover}];
      var layout = {margin: {t: 10, r: 50, b: 80, l: 70}, showlegend: !!d.y2,
                    legend: {orientation: "h"}, font: {size: 12},
                    xaxis: {type: "category", automargin: true},  // "2026-01", not "Jan"
                    yaxis: d.y_count ? countAxis({}, d.y) : amountAxis({}, d.name)};
      if (d.horizontal) {  // long tier names read better down the side
        traces = [{type: "bar", orientation: "h", x: d.y, y: d.x, name: d.name,
                   marker: {color: "#b5262b"},
                   hovertemplate: d.y_count ? "%{x:,d} 人次<extra></extra>"
                                            : "%{x:,.2f} 万元<extra></extra>"}];
        layout.margin = {t: 10, r: 20, b: 40, l: 260};
        layout.yaxis = {autorange: "reversed", automargin: true};
        layout.xaxis = d.y_count ? countAxis({automargin: true}, d.y)
                                 : amountAxis({automargin: true}, d.name);
        el.style.height = Math.max(240, 22 * d.x.length + 60) + "px";
      }
      if (d.y2) {
        traces.push({type: "scatter", mode: "lines+markers", x: d.x, y: d.y2, name: d.name2,
                     yaxis: "y2", line: {color: "#555"},
                     hovertemplate: "%{y:,d} 人次<extra></extra>"});
        layout.yaxis2 = {overlaying: "y", side: "right", rangemode: "tozero"};
        if (d.y2_count) { countAxis(layout.yaxis2, d.y2); }
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
