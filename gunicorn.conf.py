"""gunicorn settings of `make serve` (docs/operations.md, "Production serving").

Several worker processes, each with threads: a slow PDF or Excel export in one thread does not hold the
others, and a crashed worker is replaced by the master. What workers must share lives in the database or
in instance/ (sessions, the upload jobs' status: app/views/jobs.py). The scheduler runs in exactly one
worker: each worker tries the scheduler lock when it starts and the losers retry (app/jobs, stack-notes §5);
the app is NOT preloaded in the master, because the scheduler's threads would not survive the fork.

Every setting can be changed from the environment: HOST, PORT, WORKERS, THREADS, TIMEOUT, LOG_FORMAT (json), LOG_LEVEL.
"""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WORKERS", "3"))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
# A request may take long (a month's Excel export, a large upload over a slow line); gthread workers keep
# their heartbeat from the main loop, so this bounds a stuck worker, not a long request in a thread.
timeout = int(os.environ.get("TIMEOUT", "120"))
graceful_timeout = 30
preload_app = False
# The client's address and scheme behind the reverse proxy come from the app's ProxyFix
# (TOLLBOOK_TRUSTED_PROXIES=1, app/security/setup.py), one mechanism for every server.
# Access lines come from the app (app/observability.py, with the request id); gunicorn logs its own events.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's own lines (worker booted, worker killed) in the same format as the app's (app/observability.py)
if os.environ.get("LOG_FORMAT", "json") == "json":
    _stderr = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr",
               "filters": ["request_id"]}
    logconfig_dict = {  # merged over gunicorn's defaults: the same handler names, in JSON
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "app.observability.json_formatter"}},
        "filters": {"request_id": {"()": "app.observability.RequestIdFilter"}},
        "handlers": {"console": _stderr, "error_console": _stderr},
        "root": {"level": loglevel.upper(), "handlers": ["console"]},
        "loggers": {"gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"], "propagate": False}},
    }
# TOLLBOOK_SCHEDULER=1: every worker is a candidate for the scheduler; one wins its lock (app/jobs/scheduler.py).
raw_env = [f"LOG_FORMAT={os.environ.get('LOG_FORMAT', 'json')}", "TOLLBOOK_ENV=production",
           f"TOLLBOOK_SCHEDULER={os.environ.get('TOLLBOOK_SCHEDULER', '1')}"]
proc_name = "tollbook"
# gunicorn's control socket (gunicornc) lives in the home folder by default, shared by every instance on the
# machine; Tollbook does not use it.
control_socket_disable = True
