// promotion.html: poll the job's progress and update the page (no inline script: CSP).
(function () {
  var box = document.getElementById("progress");
  if (!box) return;
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (p) {
      document.getElementById("done").textContent = p.done;
      document.getElementById("total").textContent = p.total;
      document.getElementById("moved").textContent = p.moved;
      document.getElementById("stayed").textContent = p.stayed;
      document.getElementById("bar").style.width = (p.total ? Math.round(100 * p.done / p.total) : 100) + "%";
      var rows = p.schools.map(function (s) {
        var detail = Object.keys(s.report.moved || {}).map(function (k) { return k + ": " + s.report.moved[k]; }).join(" ");
        var tr = document.createElement("tr");
        [s.name, s.status, s.moved, s.stayed, detail || s.error].forEach(function (v) {
          var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
        });
        return tr;
      });
      document.getElementById("schools").replaceChildren.apply(document.getElementById("schools"), rows);
      if (p.status !== "done") setTimeout(poll, 1500);
      else document.getElementById("run-status").textContent = box.dataset.doneLabel;
    });
  }
  poll();
})();
