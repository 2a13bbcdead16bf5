// statistics.html: draw each table's chart with ECharts from the page's JSON block (no inline
// script: CSP). The table beside each chart holds the same numbers.
(function () {
  var block = document.getElementById("chart-data");
  if (!block || typeof echarts === "undefined") return;
  var tables = JSON.parse(block.textContent);
  var charts = [];
  function numeric(row) { return typeof row[1] === "number" ? row[1] : 0; }
  function option(t) {
    if (t.chart === "pie") {
      return {
        tooltip: {trigger: "item"},
        series: [{type: "pie", radius: ["35%", "65%"], data: t.rows.map(function (r) { return {name: String(r[0]), value: numeric(r)}; })
          .filter(function (d) { return d.value > 0; })}]
      };
    }
    if (t.chart === "heatmap") {
      var cols = t.columns.slice(1, -1), rows = t.rows.slice(0, -1), data = [], max = 1;
      rows.forEach(function (r, y) {
        cols.forEach(function (_c, x) { var v = r[x + 1]; data.push([x, y, v]); if (v > max) max = v; });
      });
      return {
        tooltip: {position: "top"},
        grid: {left: 120, bottom: 80, top: 10, right: 20},
        xAxis: {type: "category", data: cols, axisLabel: {rotate: 40}},
        yAxis: {type: "category", data: rows.map(function (r) { return String(r[0]); })},
        visualMap: {min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0, show: false},
        series: [{type: "heatmap", data: data, label: {show: true}}]
      };
    }
    return {
      tooltip: {trigger: "axis"},
      grid: {left: 60, right: 20, top: 20, bottom: 60},
      xAxis: {type: "category", data: t.rows.map(function (r) { return String(r[0]); }), axisLabel: {rotate: t.rows.length > 6 ? 40 : 0}},
      yAxis: {type: "value"},
      series: [{type: "bar", name: t.columns[1], data: t.rows.map(numeric)}]
    };
  }
  tables.forEach(function (t) {
    var box = document.querySelector('[data-chart="' + t.key + '"]');
    if (!box || !t.rows.length) { if (box) box.hidden = true; return; }
    var chart = echarts.init(box);
    chart.setOption(option(t));
    box.dataset.rendered = "true";
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
