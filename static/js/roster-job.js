// import_detail.html: poll the job's progress and update the page (no inline script: CSP).
(function () {
  var box = document.getElementById("roster-job");
  if (!box || box.dataset.running !== "1") return;
  function set(name, value) { var el = box.querySelector('[data-testid="' + name + '"]'); if (el) el.textContent = value; }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        set("job-processed", job.processed_rows); set("job-total", job.total_rows);
        var bar = box.querySelector(".progress");
        bar.setAttribute("aria-valuenow", job.percent); bar.firstElementChild.style.width = job.percent + "%";
        if (job.running) { setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
