"""走行明細ファイルの取込画面 (upload with a progress bar).

1. The browser sends the file with XMLHttpRequest and shows the upload progress (bytes sent).
2. The server copies the upload to a temporary file in 1 MiB blocks (werkzeug has already spooled
   it to disk past 500 KB: never the whole file in memory) and starts the import in a background
   thread, inside an app context and acting as the logged-in user (the batch records who).
3. The page polls /usage/upload/status/<job> (JSON: bytes read, rows done, state) and draws the
   bar; when the job ends it opens /usage/upload/?job=<job>, which shows the summary or the
   Japanese error table (downloadable as CSV).

Job status lives in a small in-process dict guarded by a lock: Tollbook runs as one process
(`python run.py`: one process, several threads). With several worker
processes a status request could reach a process that does not know the job; such a deployment
would need the status in the database instead. One import runs at a time.
"""
import csv
import dataclasses
import io
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from urllib.parse import quote

from flask import Response, current_app, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from app.domain.errors import DomainError
from app.domain.month import Month
from app.exports.excel import csv_text
from app.extensions import db
from app.models.usage import ImportProfile
from app.services.actor import acting_as
from app.services.uploads import display_name
from app.services.usage_import import ImportRefused, import_usage_file

from .usage import month_jp
from .formatting import yen

log = logging.getLogger(__name__)

RUNNING, DONE, REFUSED, FAILED = "running", "done", "refused", "failed"
STATE_NAMES = {RUNNING: "取込中", DONE: "取込完了", REFUSED: "取り込めませんでした", FAILED: "エラー"}
KEEP_SECONDS = 6 * 3600
KEEP_JOBS = 50
ERROR_HEADERS = ("ファイル", "行", "列", "値", "内容")

_jobs: dict[str, dict] = {}
_lock = threading.Lock()


def _update(job_id: str, **values):
    with _lock:
        if job_id in _jobs:
            _jobs[job_id].update(values)


def get_job(job_id: str) -> dict | None:
    with _lock:
        job = _jobs.get(job_id)
        return dict(job) if job else None


def _running_job() -> dict | None:
    with _lock:
        return next((dict(j) for j in _jobs.values() if j["state"] == RUNNING), None)


def _claim(job_id: str, job: dict) -> dict | None:
    """Register a new running job unless one runs already; returns the running one (not registered then)."""
    with _lock:
        running = next((dict(j) for j in _jobs.values() if j["state"] == RUNNING), None)
        if running is not None:
            return running
        _jobs[job_id] = {"id": job_id, **job, "state": RUNNING, "bytes_done": 0, "bytes_total": 0, "rows": 0,
                         "started": time.time(), "finished": None, "summary": None, "errors": [], "message": ""}
        return None


def _forget(job_id: str):
    with _lock:
        _jobs.pop(job_id, None)


def _prune():
    with _lock:
        now = time.time()
        finished = sorted((j for j in _jobs.values() if j["state"] != RUNNING), key=lambda j: j["started"])
        for job in finished[:-KEEP_JOBS] + [j for j in finished if now - j["started"] > KEEP_SECONDS]:
            _jobs.pop(job["id"], None)


def _run(app, job_id: str, path: str, username: str, user_id: int | None, profile: str, month: str | None,
         replace: bool, file_name: str):
    """The import, in its own thread: own app context (own database session), acting as the uploader."""

    def progress(done, total, rows):
        _update(job_id, bytes_done=done, bytes_total=total, rows=rows)

    try:
        with app.app_context(), acting_as(username, user_id):
            try:
                summary = import_usage_file(path, profile, usage_month=month, replace=replace,
                                            file_name=file_name, progress=progress)
            except ImportRefused as refused:
                _update(job_id, state=REFUSED, message=refused.message,
                        errors=[dataclasses.astuple(e) for e in refused.errors])
            except DomainError as error:
                _update(job_id, state=REFUSED, message=error.message, errors=[])
            except Exception:  # noqa: BLE001  shown as a Japanese message; the log keeps the trace
                log.exception("usage import job %s failed", job_id)
                _update(job_id, state=FAILED, errors=[],
                        message="取込中に予期しないエラーが発生しました。何も登録していません。管理者に連絡してください。")
            else:
                _update(job_id, state=DONE, summary=dataclasses.asdict(summary), message=str(summary),
                        rows=summary.rows)
    finally:
        _update(job_id, finished=time.time())
        try:
            os.unlink(path)
        except OSError:
            pass


def _public(job: dict) -> dict:
    total = job.get("bytes_total") or 0
    percent = int(100 * (job.get("bytes_done") or 0) / total) if total else 0
    if job["state"] != RUNNING:
        percent = 100
    return {"id": job["id"], "state": job["state"], "state_name": STATE_NAMES[job["state"]],
            "file_name": job["file_name"], "bytes_done": job.get("bytes_done") or 0, "bytes_total": total,
            "rows": job.get("rows") or 0, "percent": percent, "message": job.get("message") or "",
            "result_url": url_for("UsageUploadView.upload", job=job["id"])}


class UsageUploadView(BaseView):
    route_base = "/usage/upload"
    default_view = "upload"
    # One permission (can_upload) for the page, the upload, its status and the error list.
    method_permission_name = {"upload": "upload", "start": "upload", "status": "upload", "errors": "upload"}

    def _profiles(self):
        return db.session.scalars(select(ImportProfile).order_by(ImportProfile.id)).all()

    def _own_job(self, job_id: str) -> dict | None:
        job = get_job(job_id)
        if job is None or job["user"] != current_user.username:
            return None
        return job

    @expose("/", methods=["GET"])
    @has_access
    def upload(self):
        job = self._own_job(request.args.get("job", "")) if request.args.get("job") else None
        if request.args.get("job") and job is None:
            flash("取込の状況が見つかりません（サーバーが再起動したか、時間が経ちました）。取込一覧で結果を確認してください。",
                  "warning")
        running = _running_job()
        return self.render_template(
            "tollbook/usage_upload.html", profiles=self._profiles(), job=job, running=running,
            public=_public(job) if job else None, csrf_token=generate_csrf, yen=yen, month_jp=month_jp,
            error_headers=ERROR_HEADERS, selected=request.args.get("profile") or "etc-meisai")

    def _refuse(self, message: str, status: int = 400):
        if _wants_json():
            return jsonify({"error": message}), status
        flash(message, "danger")
        return redirect(url_for("UsageUploadView.upload"))

    @expose("/start", methods=["POST"])
    @has_access
    def start(self):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return self._refuse("取り込むファイルを選んでください。")
        profile = (request.form.get("profile") or "").strip()
        if db.session.scalar(select(ImportProfile.id).where(ImportProfile.name == profile)) is None:
            return self._refuse("取込形式を選んでください。")
        month = (request.form.get("month") or "").strip() or None
        if month:
            try:
                month = str(Month.parse(month, "利用月"))
            except DomainError as error:
                return self._refuse(error.message)
        replace = request.form.get("replace") in ("1", "on", "true", "y")
        file_name = display_name(upload.filename)  # shown and recorded; the saved copy has a random name
        _prune()
        job_id = uuid.uuid4().hex
        # The job is registered (atomically with the check that none runs) BEFORE the upload is
        # copied: copying a large file takes a while, and a second upload arriving meanwhile must
        # see this one. Checking first and registering after the copy let both through.
        running = _claim(job_id, {"user": current_user.username, "file_name": file_name, "profile": profile,
                                  "month": month, "replace": replace})
        if running is not None:
            return self._refuse(f"{running['user']} さんの取込（{running['file_name']}）が実行中です。"
                                "終わってからもう一度取り込んでください。", 409)
        handle, path = tempfile.mkstemp(prefix="tollbook-upload-", suffix=".dat")
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(upload.stream, out, 1 << 20)
        except OSError:
            os.unlink(path)
            log.exception("saving the upload failed")
            _forget(job_id)
            return self._refuse("ファイルを保存できませんでした（ディスクの空き容量を確認してください）。", 500)
        except BaseException:  # the browser went away mid-upload …: the claim must not block the next one
            os.unlink(path)
            _forget(job_id)
            raise
        _update(job_id, bytes_total=os.path.getsize(path))
        thread = threading.Thread(
            target=_run, name=f"usage-import-{job_id[:8]}", daemon=True,
            args=(current_app._get_current_object(), job_id, path, current_user.username, current_user.id, profile,
                  month, replace, file_name))
        thread.start()
        status_url = url_for("UsageUploadView.status", job_id=job_id)
        result_url = url_for("UsageUploadView.upload", job=job_id)
        if _wants_json():
            return jsonify({"job": job_id, "status_url": status_url, "result_url": result_url}), 202
        return redirect(result_url)

    @expose("/status/<job_id>")
    @has_access
    def status(self, job_id):
        job = self._own_job(job_id)
        if job is None:
            return jsonify({"error": "取込の状況が見つかりません。"}), 404
        return jsonify(_public(job))

    @expose("/errors/<job_id>")
    @has_access
    def errors(self, job_id):
        """The error list as CSV, UTF-8 with BOM (Excel opens it with the Japanese intact)."""
        job = self._own_job(job_id)
        if job is None or not job.get("errors"):
            flash("ダウンロードできるエラー一覧がありません。", "warning")
            return redirect(url_for("UsageUploadView.upload"))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(ERROR_HEADERS)
        for file_name, line, column, value, reason in job["errors"]:
            writer.writerow([csv_text(v) for v in (file_name, line or "", column or "", value or "", reason)])
        body = "\ufeff" + buffer.getvalue()
        stem = os.path.splitext(job["file_name"])[0]
        name = f"取込エラー_{stem}.csv"
        return Response(body.encode("utf-8"), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest" or request.accept_mimetypes.best == "application/json"
