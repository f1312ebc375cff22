// smki RA console: live progress of a bulk revocation (revoke_job.html).
// Progressive enhancement only: without script the page refreshes itself
// (a <noscript> meta refresh). With it, this polls the job's status and
// updates the bar in place, and reloads the page once the job has ended
// so that the server renders the result.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job) { return; }
  var url = job.getAttribute("data-status");
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var state = document.getElementById("job-state");
  function tick() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("status " + r.status); }
        return r.json();
      })
      .then(function (s) {
        if (s.state !== "running") { window.location.reload(); return; }
        if (bar) { bar.max = s.total > 0 ? s.total : 1; bar.value = s.done; bar.textContent = s.done + " of " + s.total; }
        if (text) { text.textContent = s.text; }
        if (state) { state.textContent = s.state; }
        window.setTimeout(tick, 500);
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 500);
})();
