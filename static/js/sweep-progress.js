// sweeps.html: poll the job's progress and update the page (no inline script: CSP).
(function () {
  var box = document.getElementById("progress");
  if (!box) return;
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (p) {
      document.getElementById("done").textContent = p.partitions_done;
      document.getElementById("total").textContent = p.partitions_total;
      document.getElementById("blocks").textContent = p.blocks_done;
      document.getElementById("pairs").textContent = p.pairs_scored;
      document.getElementById("cases").textContent = p.cases_found;
      document.getElementById("eta").textContent = p.eta_seconds === null ? "—" : p.eta_seconds;
      document.getElementById("bar").style.width = Math.round(100 * p.partitions_done / p.partitions_total) + "%";
      if (p.status === "running") setTimeout(poll, 1500);
      else document.getElementById("status").textContent = box.dataset.doneLabel;
    });
  }
  poll();
})();
