/* Upload with a progress bar, then poll the background import job (app/views/jobs.py) until it
   ends and open its result page. Shared by 走行明細の取込 and マスタ取込; loaded with the page's
   nonce (Content-Security-Policy, docs/security.md). The page has #upload-form, #upload-button,
   #upload-progress, #progress-bar, #progress-text and #upload-error; a running job's page puts
   data-status-url and data-result-url on #upload-progress. options.running(status) gives the text
   shown while the job runs; options.uploading(loaded, total) the text while the file is sent. */
window.TollbookImportJob = function (options) {
  "use strict";
  var form = document.getElementById("upload-form");
  var area = document.getElementById("upload-progress");
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var failure = document.getElementById("upload-error");
  var button = document.getElementById("upload-button");

  function setBar(percent, label) {
    area.style.display = "";
    bar.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", percent);
    bar.textContent = percent + "%";
    text.textContent = label;
  }
  function fail(message) {
    failure.textContent = message;
    failure.style.display = "";
    area.style.display = "none";
    button.disabled = false;
  }
  function poll(statusUrl, resultUrl) {
    fetch(statusUrl, {credentials: "same-origin", headers: {"X-Requested-With": "XMLHttpRequest"}})
      .then(function (response) { return response.json(); })
      .then(function (s) {
        if (s.error) { fail(s.error); return; }
        if (s.state === "running") {
          setBar(s.percent, options.running(s));
          setTimeout(function () { poll(statusUrl, resultUrl); }, 500);
        } else {
          setBar(100, s.state_name);
          window.location.href = resultUrl;
        }
      })
      .catch(function () { setTimeout(function () { poll(statusUrl, resultUrl); }, 1500); });
  }

  form.addEventListener("submit", function (event) {
    if (!window.FormData || !window.XMLHttpRequest) { return; }  // plain post; the result page refreshes itself
    event.preventDefault();
    failure.style.display = "none";
    button.disabled = true;
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { setBar(Math.round(100 * e.loaded / e.total), options.uploading(e.loaded, e.total)); }
    });
    request.addEventListener("load", function () {
      var answer;
      try { answer = JSON.parse(request.responseText); }
      catch (e) { answer = {error: "サーバーの応答を読めませんでした（HTTP " + request.status + "）。画面を開き直してください。"}; }
      if (request.status === 202 && answer.job) {
        setBar(0, "ファイルを確認しています…");
        poll(answer.status_url, answer.result_url);
      } else {
        fail(answer.error || "取り込めませんでした（HTTP " + request.status + "）。");
      }
    });
    request.addEventListener("error", function () { fail("通信エラーのためアップロードできませんでした。"); });
    setBar(0, "アップロード中…");
    request.send(new FormData(form));
  });

  if (area.getAttribute("data-status-url")) {
    poll(area.getAttribute("data-status-url"), area.getAttribute("data-result-url"));
  }
};
