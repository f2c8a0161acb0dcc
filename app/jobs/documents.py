"""The background render job of the web process: started by the close (and a re-issue, and the billing
screen's 「未作成の帳票を作成」), it runs app.services.documents.rendering.render_documents in a thread of
this process, which renders in its own worker processes. `flask etc render-documents` runs the same
service from the command line.

One job per web process at a time. A request while it runs sets `again`: the job looks once more for
unrendered documents before it ends, so a second close that arrives while the first month renders is
never left behind. What the billing screen shows comes from the database (counts per month), so it is
right whichever process renders; this module only says whether this process is rendering now.
(Like the upload jobs, app/views/jobs.py: one process, several threads; see docs/documents.md.)
"""
import logging
import time

from app.services.actor import acting_as

from .single import SingleThreadJob

log = logging.getLogger(__name__)

_job = SingleThreadJob("documents-render")
_state = {"started": None, "user": None, "message": ""}
UNEXPECTED = "帳票の作成中に予期しないエラーが発生しました。管理者に連絡してください（作成済みの帳票はそのままです）。"


def start_rendering(app, username: str, user_id: int | None = None) -> bool:
    """Start the job unless it runs already (then it looks again before it ends). True if started now."""
    return _job.start(_run, app, username, user_id,
                      on_start=lambda: _state.update(started=time.time(), user=username, message=""))


def _run(app, username: str, user_id: int | None):
    from app.services.documents.rendering import render_documents

    try:
        with app.app_context(), acting_as(username, user_id):
            processes = int(app.config.get("DOCUMENT_RENDER_PROCESSES", 2))
            while True:
                summary = render_documents(None, processes=processes)
                log.info("documents rendered: %s", summary)
                # the members whose documents are now complete get their notice mail (docs/portal.md)
                from app.jobs.notices import start_sending

                start_sending(app)
                if _job.finish_unless_asked_again():
                    return
    except Exception:  # noqa: BLE001  shown on the billing screen; the log keeps the trace
        log.exception("document render job failed")
        _state["message"] = UNEXPECTED


def is_running() -> bool:
    return _job.is_running()


def last_message() -> str:
    return _state["message"]


def wait_until_idle(timeout: float = 300) -> bool:
    """For tests and shutdown: wait for the current job; True if none runs any more."""
    return _job.wait_until_idle(timeout)
