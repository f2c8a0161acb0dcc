"""Background import jobs shared by the upload screens (走行明細の取込, マスタ取込).

A long import must not hold the request (a big file kept a worker busy for minutes and the browser
showed nothing): the view saves the upload, registers a job and starts the import in a thread,
inside an app context and acting as the uploader (records and audit entries say who). The page
polls a status URL (JSON) and then opens a result page.

Job status lives in a small in-process dict guarded by a lock: Tollbook runs as one process
(`python run.py`: one process, several threads). With several worker processes a status request
could reach a process that does not know the job; such a deployment would need the status in the
database instead. One import of each kind runs at a time (claim() refuses a second one).
"""
import logging
import os
import shutil
import tempfile
import threading
import time

from app.services.actor import acting_as

log = logging.getLogger(__name__)

RUNNING, DONE, REFUSED, FAILED = "running", "done", "refused", "failed"
STATE_NAMES = {RUNNING: "取込中", DONE: "取込完了", REFUSED: "取り込めませんでした", FAILED: "エラー"}
KEEP_SECONDS = 6 * 3600
KEEP_JOBS = 50
UNEXPECTED = "取込中に予期しないエラーが発生しました。何も登録していません。管理者に連絡してください。"


class JobRefused(Exception):
    """The import refused the file (nothing saved): `message` and the job fields in `values`."""

    def __init__(self, message: str, **values):
        super().__init__(message)
        self.message = message
        self.values = values


class JobRegistry:
    """The jobs of one kind of import."""

    def __init__(self, kind: str):
        self.kind = kind
        self.jobs: dict[str, dict] = {}
        self.lock = threading.Lock()

    def update(self, job_id: str, **values):
        with self.lock:
            if job_id in self.jobs:
                self.jobs[job_id].update(values)

    def get(self, job_id: str) -> dict | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return dict(job) if job else None

    def running(self) -> dict | None:
        with self.lock:
            return next((dict(j) for j in self.jobs.values() if j["state"] == RUNNING), None)

    def claim(self, job_id: str, job: dict) -> dict | None:
        """Register a new running job unless one runs already; returns the running one (not registered then).
        Registered BEFORE the upload is copied: copying a large file takes a while, and a second
        upload arriving meanwhile must see this one (checking first and registering after let both through)."""
        with self.lock:
            running = next((dict(j) for j in self.jobs.values() if j["state"] == RUNNING), None)
            if running is not None:
                return running
            self.jobs[job_id] = {"id": job_id, **job, "state": RUNNING, "bytes_done": 0, "bytes_total": 0,
                                 "rows": 0, "started": time.time(), "finished": None, "summary": None,
                                 "errors": [], "message": ""}
            return None

    def forget(self, job_id: str):
        with self.lock:
            self.jobs.pop(job_id, None)

    def prune(self):
        with self.lock:
            now = time.time()
            finished = sorted((j for j in self.jobs.values() if j["state"] != RUNNING), key=lambda j: j["started"])
            for job in finished[:-KEEP_JOBS] + [j for j in finished if now - j["started"] > KEEP_SECONDS]:
                self.jobs.pop(job["id"], None)

    def start(self, app, job_id: str, work, username: str, user_id: int | None, cleanup=None):
        """Run `work(progress)` in a daemon thread. `work` returns the job fields of a finished
        import or raises JobRefused; `progress(**fields)` updates the job while it runs;
        `cleanup()` runs at the end whatever happened (removes the saved upload)."""
        thread = threading.Thread(target=self._run, name=f"{self.kind}-import-{job_id[:8]}", daemon=True,
                                  args=(app, job_id, work, username, user_id, cleanup))
        thread.start()
        return thread

    def _run(self, app, job_id, work, username, user_id, cleanup):
        try:
            with app.app_context(), acting_as(username, user_id):
                try:
                    values = work(lambda **fields: self.update(job_id, **fields))
                except JobRefused as refused:
                    self.update(job_id, state=REFUSED, message=refused.message, **refused.values)
                except Exception:  # noqa: BLE001  shown as a Japanese message; the log keeps the trace
                    log.exception("%s import job %s failed", self.kind, job_id)
                    self.update(job_id, state=FAILED, errors=[], message=UNEXPECTED)
                else:
                    self.update(job_id, state=DONE, **values)
        finally:
            self.update(job_id, finished=time.time())
            if cleanup is not None:
                try:
                    cleanup()
                except OSError:
                    pass


def busy_message(running: dict) -> str:
    return (f"{running['user']} さんの取込（{running['file_name']}）が実行中です。"
            "終わってからもう一度取り込んでください。")


def save_upload(stream) -> str:
    """The upload copied in 1 MiB blocks to a temporary file with a random name (never the client's)."""
    handle, path = tempfile.mkstemp(prefix="tollbook-upload-", suffix=".dat")
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
    except BaseException:
        os.unlink(path)
        raise
    return path


def wants_json() -> bool:
    from flask import request
    return (request.headers.get("X-Requested-With") == "XMLHttpRequest"
            or request.accept_mimetypes.best == "application/json")


def started(view: str, job_id: str):
    """The answer to an upload whose job has started: 202 with the job for the page's script, or a
    redirect to the job's page (a plain form post, without JavaScript)."""
    from flask import jsonify, redirect, url_for
    status_url = url_for(f"{view}.status", job_id=job_id)
    result_url = url_for(f"{view}.upload", job=job_id)
    if wants_json():
        return jsonify({"job": job_id, "status_url": status_url, "result_url": result_url}), 202
    return redirect(result_url)


def status_answer(job: dict | None, public):
    """The status JSON of the user's own job (404 for another user's or an unknown one)."""
    from flask import jsonify
    if job is None:
        return jsonify({"error": "取込の状況が見つかりません。"}), 404
    return jsonify(public(job))


def own_job(registry: JobRegistry, job_id: str) -> dict | None:
    """The job if the logged-in user started it (a job id is not a permission)."""
    from flask_login import current_user
    job = registry.get(job_id)
    return job if job is not None and job["user"] == current_user.username else None
