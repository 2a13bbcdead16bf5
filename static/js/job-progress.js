// Follow a background job on its page (no inline script: CSP). The box carries
// data-job-progress, data-status-url (a JSON status) and data-running="1" while the job runs;
// each element inside with data-field="name" shows that field of the status, the .progress
// bar its percent. The page reloads when the job is done: the status says running: false, or
// state done / failed.
(function () {
  var box = document.querySelector("[data-job-progress]");
  if (!box || box.dataset.running !== "1") return;
  var interval = parseInt(box.dataset.interval || "1000", 10);
  function finished(job) {
    return "running" in job ? !job.running : job.state === "done" || job.state === "failed";
  }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        box.querySelectorAll("[data-field]").forEach(function (el) {
          var value = job[el.dataset.field];
          if (value !== undefined && value !== null) el.textContent = value;
        });
        var bar = box.querySelector(".progress");
        if (bar && job.percent !== undefined) {
          bar.setAttribute("aria-valuenow", job.percent);
          bar.firstElementChild.style.width = job.percent + "%";
        }
        if (finished(job)) { window.location.reload(); } else { setTimeout(poll, interval); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
