"""マスタ取込（Excel）: upload the workbook; see the summary, or the list of problems and nothing saved.

The import runs in the background like the 走行明細 upload (app/views/jobs.py): the POST copies the
upload (capped at MASTER_IMPORT_MAX_BYTES) to an anonymous temporary file, registers a job and
answers at once (202 with the job for the page's script, else a redirect to ?job=…). The page polls
/master-import/status/<job> (rows checked, sheets) and then shows the summary or the error list.
One master import runs at a time. The CLI `flask etc import-master` stays synchronous (same service).
"""
import logging
import uuid
from urllib.parse import quote

from flask import Response, current_app, flash, jsonify, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import RequestEntityTooLarge

from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.importers.master_excel import CellError, template_bytes
from app.services.master_import import MasterImportFailed, import_master_file
from app.services.uploads import display_name, limit, spool_capped, too_large

from .jobs import (RUNNING, STATE_NAMES, JobRefused, JobRegistry, busy_message, own_job, started, status_answer,
                   wants_json)

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_registry = JobRegistry("master")
get_job = _registry.get


def _work(spool, file_name: str):
    """The import, in the job's thread (own app context, acting as the uploader)."""

    def run(progress):
        try:
            summary = import_master_file(spool, file_name, progress=progress)
        except MasterImportFailed as failure:
            raise JobRefused("取り込めませんでした。", total=failure.total,
                             errors=[(e.sheet, e.row, e.column, e.reason) for e in failure.errors]) from None
        return {"summary": summary, "message": summary}

    return run


def _public(job: dict) -> dict:
    total = job.get("sheets_total") or 3
    percent = 100 if job["state"] != RUNNING else int(100 * (job.get("sheets_done") or 0) / total)
    return {"id": job["id"], "state": job["state"], "state_name": STATE_NAMES[job["state"]],
            "file_name": job["file_name"], "rows": job.get("rows") or 0,
            "sheets_done": job.get("sheets_done") or 0, "sheets_total": total, "percent": percent,
            "message": job.get("message") or "",
            "result_url": url_for("MasterImportView.upload", job=job["id"])}


def _errors(job: dict) -> list[CellError]:
    return [CellError(*e) for e in job.get("errors") or ()]


class MasterImportView(BaseView):
    route_base = "/master-import"
    default_view = "upload"
    # One permission (can_upload) for the page, the upload and its status, as before.
    method_permission_name = {"upload": "upload", "status": "upload", "template": "template"}

    def _own_job(self, job_id: str) -> dict | None:
        return own_job(_registry, job_id)

    def _page(self, errors=None, filename=None, total=0, job=None, status=200):
        running = _registry.running()
        if job is not None and job["state"] not in (RUNNING,):
            filename = job["file_name"]
            errors = _errors(job) if job["state"] != "done" else None
            total = job.get("total") or len(errors or ())
            if job["state"] == "failed":
                errors = [CellError(None, None, None, job["message"])]
                total = 1
        summary = job["summary"] if job is not None and job["state"] == "done" else None
        return self.render_template("tollbook/master_import.html", errors=errors, summary=summary,
                                    filename=filename, total=total or len(errors or ()), job=job,
                                    public=_public(job) if job else None, running=running,
                                    csrf_token=generate_csrf), status

    def _refuse(self, errors, filename=None, status=400):
        if wants_json():
            return jsonify({"error": "\n".join(e.reason for e in errors)}), status
        return self._page(errors=errors, filename=filename, status=status)

    @expose("/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        if request.method == "GET":
            job = None
            if request.args.get("job"):
                job = self._own_job(request.args["job"])
                if job is None:
                    flash("取込の状況が見つかりません（サーバーが再起動したか、時間が経ちました）。"
                          "組合員・カードの一覧で結果を確認してください。", "warning")
            return self._page(job=job)
        maximum = limit("MASTER_IMPORT_MAX_BYTES")
        # Werkzeug refuses a bigger request body before spooling it (the form fields fit in the margin).
        request.max_content_length = maximum + (1 << 20)
        try:
            upload = request.files.get("file")
        except RequestEntityTooLarge:
            return self._refuse([CellError(None, None, None, too_large("Excelファイル", maximum).message)])
        filename = display_name(upload.filename) if upload and upload.filename else None
        if not filename:
            return self._refuse([CellError(None, None, None, "取り込むExcelファイルを選んでください。")])
        _registry.prune()
        job_id = uuid.uuid4().hex
        running = _registry.claim(job_id, {"user": current_user.username, "file_name": filename,
                                           "sheets_done": 0, "sheets_total": 3, "total": 0})
        if running is not None:
            return self._refuse([CellError(None, None, None, busy_message(running))], filename, 409)
        try:
            spool = spool_capped(upload.stream, maximum, filename)
        except DomainError as error:
            _registry.forget(job_id)
            return self._refuse([CellError(None, None, None, error.message)], filename)
        except BaseException:  # the browser went away mid-upload …: the claim must not block the next one
            _registry.forget(job_id)
            raise
        _registry.start(current_app._get_current_object(), job_id, _work(spool, filename),
                        current_user.username, current_user.id, cleanup=spool.close)
        return started("MasterImportView", job_id)

    @expose("/status/<job_id>")
    @has_access
    def status(self, job_id):
        return status_answer(self._own_job(job_id), _public)

    @expose("/template/")
    @has_access
    def template(self):
        name = f"マスタ取込ひな形_{today_jst():%Y%m%d}.xlsx"
        return Response(template_bytes(), mimetype=XLSX,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

