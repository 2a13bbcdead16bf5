// import.html: poll the job's progress and update the page (no inline script: CSP).
(function () {
  var box = document.getElementById("photo-job");
  if (!box || box.dataset.state === "done" || box.dataset.state === "failed") return;
  function set(name, value) { var el = box.querySelector('[data-testid="' + name + '"]'); if (el) el.textContent = value; }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        set("job-processed", job.processed); set("job-total", job.total);
        set("job-accepted", job.accepted); set("job-refused", job.refused); set("job-ignored", job.ignored);
        var bar = box.querySelector(".progress");
        bar.setAttribute("aria-valuenow", job.percent); bar.firstElementChild.style.width = job.percent + "%";
        if (job.state === "done" || job.state === "failed") { window.location.reload(); } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
