"""Serves Tollbook.

`python run.py` (what `make run` does): Werkzeug's development server on http://127.0.0.1:5000.
`make serve` (TOLLBOOK_ENV=production python run.py): the production server, gunicorn with several worker
processes (gunicorn.conf.py; docs/operations.md). Production refuses to start without a SECRET_KEY of its own
(docs/security.md); put it behind a reverse proxy that terminates TLS, since the session cookie is sent over
HTTPS only.
"""
import os
import sys
from pathlib import Path

from app.security.secret_key import is_production

if __name__ == "__main__" and is_production():
    # gunicorn imports this module again in each worker (run:app); the app is built there, not here.
    here = Path(__file__).resolve().parent
    os.chdir(here)
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(here / "gunicorn.conf.py"), "run:app"])

from app import create_app  # noqa: E402

# `python run.py` serves, so it runs the scheduled jobs (定期処理, app/jobs/scheduler.py) unless
# TOLLBOOK_SCHEDULER=0. Only as the program itself: the document renderer's fork server imports this file
# again as __mp_main__. Under gunicorn (run:app) the workers get TOLLBOOK_SCHEDULER=1 from gunicorn.conf.py
# and one of them wins the scheduler lock.
_serving = __name__ == "__main__" and os.environ.get("TOLLBOOK_SCHEDULER", "1") != "0"
app = create_app({"SCHEDULER_ENABLED": True} if _serving else None)

if __name__ == "__main__":
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    app.run(host=host, port=port, debug=bool(os.environ.get("FLASK_DEBUG")), use_reloader=False)
