"""Audit log: every create, update and delete of business data, whoever made it and however.

Recorded in the same flush as the change, so a change without its audit row cannot be committed.
"""
import datetime as dt
import decimal

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.models import Agency, AuditLog, Card, CardEvent, Member, OperatorSettings, Vehicle
from app.models.member import MemberAccount
from app.models.billing import BillingRun, Invoice, InvoiceAdjustment
from app.models.tariff import TariffRule
from app.models.usage import IcMaster, ImportProfile

from app.models.mixins import now_jst

from .actor import current_actor

AUDITED = (OperatorSettings, Member, Agency, Vehicle, Card, CardEvent, MemberAccount, ImportProfile, IcMaster,
           TariffRule, BillingRun, Invoice, InvoiceAdjustment)
_SKIP = {"created_at", "updated_at"}


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _columns(obj) -> list:
    return [c for c in inspect(obj).mapper.column_attrs if c.key not in _SKIP]


def _snapshot(obj) -> dict:
    return {attr.key: _plain(getattr(obj, attr.key)) for attr in _columns(obj)}


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    before, after = {}, {}
    for attr in _columns(obj):
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            before[attr.key] = _plain(hist.deleted[0]) if hist.deleted else None
            after[attr.key] = _plain(hist.added[0]) if hist.added else None
    return before, after


def _entry(obj, action, before, after):
    username, user_id = current_actor()
    return {"obj": obj, "action": action, "before": before, "after": after,
            "username": username, "user_id": user_id}


def _before_flush(session: Session, flush_context, instances):
    pending = session.info.setdefault("audit_pending", [])
    for obj in session.new:
        if isinstance(obj, AUDITED):
            pending.append(_entry(obj, "create", None, None))
    for obj in session.dirty:
        if isinstance(obj, AUDITED) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                pending.append(_entry(obj, "update", before, after))
    for obj in session.deleted:
        if isinstance(obj, AUDITED):
            pending.append(_entry(obj, "delete", _snapshot(obj), None))


def _after_flush(session: Session, flush_context):
    pending = session.info.pop("audit_pending", [])
    if not pending:
        return
    rows = []
    for item in pending:
        obj = item["obj"]
        after = _snapshot(obj) if item["action"] == "create" else item["after"]
        identity = inspect(obj).identity
        rows.append(dict(
            occurred_at=now_jst(), username=item["username"], user_id=item["user_id"], action=item["action"],
            table_name=obj.__tablename__, record_id=str(identity[0] if identity else obj.id),
            record_label=str(obj)[:200], before=item["before"], after=after))
    # Written on the flush's own connection: same transaction as the change it records.
    session.connection().execute(AuditLog.__table__.insert(), rows)


def record_bulk_action(action: str, obj, counts: dict) -> None:
    """One audit entry for an operation whose rows are written in bulk (no per-record entries), e.g. the
    close: `counts` says what it did (invoices numbered, states changed). Same transaction as the work."""
    from app.extensions import db

    username, user_id = current_actor()
    db.session.connection().execute(AuditLog.__table__.insert(), [dict(
        occurred_at=now_jst(), username=username, user_id=user_id, action=action[:10],
        table_name=obj.__tablename__, record_id=str(obj.id), record_label=str(obj)[:200], before=None,
        after={key: _plain(value) for key, value in counts.items()})])


def install_audit_listeners():
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
