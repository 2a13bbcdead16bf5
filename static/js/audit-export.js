// audit_export.html: poll the export job's progress; reload when it is done (no inline script: CSP).
(function () {
  var box = document.getElementById("audit-export");
  if (!box || box.dataset.running !== "1") return;
  function set(name, value) { var el = box.querySelector('[data-testid="' + name + '"]'); if (el) el.textContent = value; }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        set("export-processed", job.processed_rows); set("export-total", job.total_rows);
        var bar = box.querySelector(".progress");
        if (bar) { bar.setAttribute("aria-valuenow", job.percent); bar.firstElementChild.style.width = job.percent + "%"; }
        if (job.running) { setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
