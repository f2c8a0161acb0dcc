"""走行明細ファイルの取込画面 (upload with a progress bar).

1. The browser sends the file with XMLHttpRequest and shows the upload progress (bytes sent).
2. The server copies the upload to a temporary file in 1 MiB blocks (werkzeug has already spooled
   it to disk past 500 KB: never the whole file in memory) and starts the import in a background
   thread, inside an app context and acting as the logged-in user (the batch records who).
3. The page polls /usage/upload/status/<job> (JSON: bytes read, rows done, state) and draws the
   bar; when the job ends it opens /usage/upload/?job=<job>, which shows the summary or the
   Japanese error table (downloadable as CSV).

The job mechanism (registry, thread, one import at a time) is app/views/jobs.py, shared with マスタ取込.
"""
import csv
import dataclasses
import io
import logging
import os
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
from app.services.uploads import display_name
from app.services.usage_import import ImportRefused, import_usage_file

from .jobs import (DONE, FAILED, REFUSED, RUNNING, STATE_NAMES, JobRefused, JobRegistry, busy_message, own_job,
                   save_upload, started, status_answer, wants_json)
from .usage import month_jp
from .formatting import yen

log = logging.getLogger(__name__)

ERROR_HEADERS = ("ファイル", "行", "列", "値", "内容")

_registry = JobRegistry("usage")
get_job, clear_jobs = _registry.get, _registry.clear
__all__ = ["DONE", "FAILED", "REFUSED", "RUNNING", "UsageUploadView", "get_job"]


def _work(path: str, profile: str, month: str | None, replace: bool, file_name: str):
    """The import, in the job's thread (own app context, acting as the uploader)."""

    def run(progress):
        try:
            summary = import_usage_file(path, profile, usage_month=month, replace=replace, file_name=file_name,
                                        progress=lambda done, total, rows: progress(bytes_done=done,
                                                                                    bytes_total=total, rows=rows))
        except ImportRefused as refused:
            raise JobRefused(refused.message, errors=[dataclasses.astuple(e) for e in refused.errors]) from None
        except DomainError as error:
            raise JobRefused(error.message, errors=[]) from None
        return {"summary": dataclasses.asdict(summary), "message": str(summary), "rows": summary.rows}

    return run


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
        return own_job(_registry, job_id)

    @expose("/", methods=["GET"])
    @has_access
    def upload(self):
        job = self._own_job(request.args.get("job", "")) if request.args.get("job") else None
        if request.args.get("job") and job is None:
            flash("取込の状況が見つかりません（サーバーが再起動したか、時間が経ちました）。取込一覧で結果を確認してください。",
                  "warning")
        running = _registry.running()
        return self.render_template(
            "tollbook/usage_upload.html", profiles=self._profiles(), job=job, running=running,
            public=_public(job) if job else None, csrf_token=generate_csrf, yen=yen, month_jp=month_jp,
            error_headers=ERROR_HEADERS, selected=request.args.get("profile") or "etc-meisai")

    def _refuse(self, message: str, status: int = 400):
        if wants_json():
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
        _registry.prune()
        job_id = uuid.uuid4().hex
        running = _registry.claim(job_id, {"user": current_user.username, "file_name": file_name,
                                           "profile": profile, "month": month, "replace": replace})
        if running is not None:
            return self._refuse(busy_message(running), 409)
        try:
            path = save_upload(upload.stream)
        except OSError:
            log.exception("saving the upload failed")
            _registry.forget(job_id)
            return self._refuse("ファイルを保存できませんでした（ディスクの空き容量を確認してください）。", 500)
        except BaseException:  # the browser went away mid-upload …: the claim must not block the next one
            _registry.forget(job_id)
            raise
        _registry.update(job_id, bytes_total=os.path.getsize(path))
        _registry.start(current_app._get_current_object(), job_id, _work(path, profile, month, replace, file_name),
                        current_user.username, current_user.id, cleanup=lambda: os.unlink(path))
        return started("UsageUploadView", job_id)

    @expose("/status/<job_id>")
    @has_access
    def status(self, job_id):
        return status_answer(self._own_job(job_id), _public)

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

