/* 請求処理の確認: while the month's documents are being rendered (app/jobs/documents.py), poll the
   status URL (app/views/documents.py IssuedDocumentView.status) and move the bar and the counts; when
   the job ends, reload once so that the failures and the download buttons show. Loaded with
   the page's nonce (Content-Security-Policy, docs/security.md). */
(function () {
  "use strict";
  var panel = document.getElementById("documents-panel");
  if (!panel) { return; }
  var url = panel.getAttribute("data-status-url");
  var running = panel.getAttribute("data-running") === "1";
  if (!running) { return; }  // nothing renders in this process: the page shows the counts as they are
  var bar = document.getElementById("documents-bar");
  function number(value) { return Number(value).toLocaleString("ja-JP"); }
  function set(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "XMLHttpRequest"}})
      .then(function (response) { return response.json(); })
      .then(function (s) {
        set("documents-rendered", number(s.rendered));
        set("documents-total", number(s.total));
        set("documents-pending", number(s.pending));
        set("documents-failed", number(s.failed));
        set("documents-state", s.running ? "（作成中…）" : "");
        if (bar) {
          bar.style.width = s.percent + "%";
          bar.setAttribute("aria-valuenow", s.percent);
          bar.textContent = s.percent + "%";
        }
        // the job has ended: reload once, so that the failures and the download buttons show
        if (!s.running) {
          window.location.reload();
          return;
        }
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
