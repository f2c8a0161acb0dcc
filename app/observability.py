"""What operations sees of a running Tollbook (issue 13 item 6): structured logs with request ids, and a
health endpoint for monitoring.

* Every request gets an id: the reverse proxy's `X-Request-ID` when it sends a sane one (so the proxy's
  access log and ours join), else a new one. It is returned in the response's `X-Request-ID` header, and
  every log line written while the request runs carries it — the access line, the import job's errors,
  SQLAlchemy's warnings alike.
* LOG_FORMAT=json (the default under `make serve`): one JSON object per line on stderr (time in Japan time,
  level, logger, message, request_id, and the exception's trace), for journald / a log shipper.
  LOG_FORMAT=text: the same fields as plain text, for a person at a terminal (`make run`).
* GET /health: 200 {"status": "ok"} when the database answers and its schema is the code's; 503 with the
  reason otherwise. No login, no session, no data: a monitor (or the proxy's health check) can poll it.
"""
import datetime as dt
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, jsonify, request

from app.domain.clock import JST

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
access_log = logging.getLogger("tollbook.access")


def current_request_id() -> str | None:
    if not has_request_context():
        return None
    return request.environ.get("tollbook.request_id")


class RequestIdFilter(logging.Filter):
    """Puts the request id (or "-" outside a request: jobs, CLI) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


def _jst_time(formatter, record, datefmt=None):
    return dt.datetime.fromtimestamp(record.created, JST).isoformat(timespec="milliseconds")


def json_formatter() -> logging.Formatter:
    """One JSON object per line, time in Japan time; also gunicorn's own lines (gunicorn.conf.py)."""
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                              rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                              json_ensure_ascii=False, defaults={"request_id": "-"})
    formatter.formatTime = _jst_time.__get__(formatter)
    return formatter


def text_formatter() -> logging.Formatter:
    formatter = logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
                                  defaults={"request_id": "-"})
    formatter.formatTime = _jst_time.__get__(formatter)
    return formatter


def configure_logging(app: Flask) -> None:
    """Root handler on stderr, JSON or text by LOG_FORMAT, at LOG_LEVEL (INFO). Done once per process."""
    root = logging.getLogger()
    if getattr(root, "_tollbook_configured", False):
        return
    style = (app.config.get("LOG_FORMAT") or "text").lower()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(json_formatter() if style == "json" else text_formatter())
    root.handlers[:] = [handler]
    root.setLevel(app.config.get("LOG_LEVEL") or "INFO")
    root._tollbook_configured = True


def install_request_ids(app: Flask) -> None:
    @app.before_request
    def take_request_id():
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request.environ["tollbook.request_id"] = offered if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex
        request.environ["tollbook.started"] = time.perf_counter()

    @app.after_request
    def give_request_id(response):
        request_id = request.environ.get("tollbook.request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        started = request.environ.get("tollbook.started")
        if started is not None and request.endpoint not in ("static", "appbuilder.static", "health"):
            user = getattr(g.get("user"), "id", None) if "user" in g else None
            milliseconds = (time.perf_counter() - started) * 1000
            # the path only: a query string may carry a member's name typed into a search box
            access_log.info("%s %s %s %.0fms", request.method, request.path, response.status_code, milliseconds,
                            extra={"method": request.method, "path": request.path, "status": response.status_code,
                                   "duration_ms": round(milliseconds, 1),
                                   "user_id": user, "remote_addr": request.remote_addr})
        return response


def health_state() -> tuple[bool, dict]:
    """(healthy, details): the database answers a query and its Alembic revision is the code's head."""
    from sqlalchemy import text

    from app.services.backup import code_revision

    from app.extensions import db

    from sqlalchemy.exc import DBAPIError

    details: dict = {}
    try:
        connection = db.engine.connect()
    except DBAPIError as error:
        logging.getLogger(__name__).warning("health: database unreachable: %s", error.orig)
        return False, {"status": "error", "database": "error", "message": "データベースに接続できません。"}
    with connection:
        try:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            revision = None
    if revision is None:
        return False, {"status": "error", "database": "ok", "schema": "missing",
                       "message": "データベースが初期化されていません（flask etc init を実行してください）。"}
    details["database"] = "ok"
    if revision != code_revision():
        details.update(status="error", schema="outdated",
                       message="データベースの形式が古いままです（flask db upgrade を実行してください）。")
        return False, details
    details.update(status="ok", schema="current")
    return True, details


def register_health(app: Flask) -> None:
    @app.get("/health", endpoint="health")
    def health():
        healthy, details = health_state()
        response = jsonify(details)
        response.status_code = 200 if healthy else 503
        response.headers["Cache-Control"] = "no-store"
        return response
