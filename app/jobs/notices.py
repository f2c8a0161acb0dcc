"""The background sender of the portal's notice mails (app/services/notices.py), a thread of the web process
like the render job (app/jobs/documents.py), which starts it each time it has rendered. It sends what is due,
then, while retries are due within MAIL_JOB_MAX_WAIT_MINUTES, sleeps until the next one and sends again.
A start while it runs makes it look again before it ends. `flask etc send-notices` does the same once."""
import logging
import time

from app.models.mixins import now_jst
from app.services.actor import acting_as

from .single import SingleThreadJob

log = logging.getLogger(__name__)

_job = SingleThreadJob("portal-notices")


def start_sending(app) -> bool:
    """Start the job unless it runs already or no MAIL_SERVER is set. True if started now."""
    if not app.config.get("MAIL_SERVER"):
        return False
    return _job.start(_run, app)


def _run(app):
    from app.services.notices import send_notices

    try:
        with app.app_context(), acting_as("お知らせメール"):
            longest = float(app.config.get("MAIL_JOB_MAX_WAIT_MINUTES", 180)) * 60
            while True:
                summary = send_notices()
                log.info("portal notices: %s", summary)
                if summary.next_retry is not None:
                    wait = max((summary.next_retry - now_jst()).total_seconds(), 0)
                    if wait <= longest:
                        time.sleep(min(wait, 60) + 0.05)
                        continue
                if _job.finish_unless_asked_again():
                    return
    except Exception:  # noqa: BLE001  the rows keep their state; the next start goes on
        log.exception("portal notice job failed")


def is_running() -> bool:
    return _job.is_running()


def wait_until_idle(timeout: float = 60) -> bool:
    """For tests and shutdown: wait for the current job; True if none runs any more."""
    return _job.wait_until_idle(timeout)
