// The import progress page: poll the job API every second and move the bar until the job ends,
// then reload once to show the rows that were not imported.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "1") return;
  var labels = {pending: "Awaiting confirmation", queued: "Queued", running: "Running",
                done: "Done", failed: "Failed"};
  function set(id, value) { document.getElementById(id).textContent = value; }
  function poll() {
    fetch(box.dataset.jobUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (job) {
          var percent = Math.floor(job.percent);
          var bar = document.getElementById("job-bar");
          bar.style.width = percent + "%";
          bar.setAttribute("aria-valuenow", percent);
          set("job-percent", percent);
          set("job-status", labels[job.status] || job.status);
          ["done", "total", "created", "updated", "unchanged", "failed"].forEach(function (key) {
            set("job-" + key, job[key]);
          });
          var note = document.getElementById("queued-note");
          if (note && job.status !== "queued") note.remove();
          box.dataset.status = job.status;
          if (job.status === "done" || job.status === "failed") {
            setTimeout(function () { window.location.reload(); }, 800);
            return;
          }
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
