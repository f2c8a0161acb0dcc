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
import threading
import time

from app.services.actor import acting_as

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state = {"thread": None, "again": False, "started": None, "user": None, "message": ""}
UNEXPECTED = "帳票の作成中に予期しないエラーが発生しました。管理者に連絡してください（作成済みの帳票はそのままです）。"


def start_rendering(app, username: str, user_id: int | None = None) -> bool:
    """Start the job unless it runs already (then it looks again before it ends). True if started now."""
    with _lock:
        if _state["thread"] is not None:  # cleared by the job itself, under this lock, as it decides to end
            _state["again"] = True
            return False
        thread = threading.Thread(target=_run, args=(app, username, user_id), name="documents-render", daemon=True)
        _state.update(thread=thread, again=False, started=time.time(), user=username, message="")
        thread.start()
        return True


def _run(app, username: str, user_id: int | None):
    from app.services.documents.rendering import render_documents

    try:
        with app.app_context(), acting_as(username, user_id):
            processes = int(app.config.get("DOCUMENT_RENDER_PROCESSES", 2))
            while True:
                summary = render_documents(None, processes=processes)
                log.info("documents rendered: %s", summary)
                with _lock:
                    if not _state["again"]:
                        _state["thread"] = None  # a request from now on starts a new job
                        return
                    _state["again"] = False
    except Exception:  # noqa: BLE001  shown on the billing screen; the log keeps the trace
        log.exception("document render job failed")
        with _lock:
            _state["message"] = UNEXPECTED
    finally:
        with _lock:
            if _state["thread"] is threading.current_thread():
                _state["thread"] = None
                _state["again"] = False


def is_running() -> bool:
    with _lock:
        thread = _state["thread"]
        return thread is not None and thread.is_alive()


def last_message() -> str:
    with _lock:
        return _state["message"]


def wait_until_idle(timeout: float = 300) -> bool:
    """For tests and shutdown: wait for the current job; True if none runs any more."""
    with _lock:
        thread = _state["thread"]
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True
