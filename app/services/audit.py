"""Audit log: every create, update and delete of business data, whoever made it and however.

Recorded in the same flush as the change, so a change without its audit row cannot be committed.
"""
import datetime as dt
import hashlib
import decimal

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.models import Agency, AgencyCommissionRule, AuditLog, Card, CardEvent, Member, OperatorSettings, Vehicle
from app.models.member import MemberAccount
from app.models.billing import BillingRun, Invoice, InvoiceAdjustment
from app.models.payment import (CollectionProfile, DebitBatch, DebitResultImport, Payment, TransferReceipt,
                                WriteOff)
from app.models.job import ScheduledJob
from app.models.tariff import TariffRule
from app.models.usage import IcMaster, ImportBatch, ImportProfile

from app.models.mixins import now_jst

from .actor import current_actor

AUDITED = (OperatorSettings, Member, Agency, Vehicle, Card, CardEvent, MemberAccount, ImportProfile, IcMaster,
           TariffRule, BillingRun, Invoice, InvoiceAdjustment, ImportBatch, CollectionProfile, DebitBatch,
           DebitResultImport, Payment, TransferReceipt, WriteOff, AgencyCommissionRule, ScheduledJob)
_SKIP = {"created_at", "updated_at"}
# FAB's users and roles are audited too (who may do what: issue 8 item 15), but never the password
# hash, and not the login counters FAB updates at every login (logins have their own entries).
_SKIP_BY_TABLE = {"ab_user": {"password", "last_login", "login_count", "fail_login_count", "changed_on",
                              "created_on", "changed_by_fk", "created_by_fk"},
                  # a portal login's initial password hash is never copied either
                  "member_account": {"initial_password_hash"}}


def _audited() -> tuple:
    """AUDITED plus FAB's user and role classes (known once AppBuilder is set up)."""
    from app.extensions import appbuilder

    sm = getattr(appbuilder, "sm", None)
    return AUDITED + ((sm.user_model, sm.role_model) if sm is not None else ())


def _role_names(roles) -> list[str]:
    return sorted(str(getattr(role, "name", role)) for role in roles)


def _role_changes(obj) -> tuple[dict, dict]:
    """A user's roles (a many-to-many collection, which is_modified leaves out) before → after."""
    if getattr(obj, "__tablename__", None) != "ab_user":
        return {}, {}
    history = inspect(obj).attrs.roles.history
    if not history.has_changes():
        return {}, {}
    kept = list(history.unchanged or ())
    return ({"roles": _role_names(kept + list(history.deleted or ()))},
            {"roles": _role_names(kept + list(history.added or ()))})


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        # A binary column (the operator's logo): its size and digest say what changed; the log is JSON.
        data = bytes(value)
        return f"（{len(data):,}バイト SHA-256 {hashlib.sha256(data).hexdigest()[:16]}）"
    return value


def _columns(obj) -> list:
    skip = _SKIP | _SKIP_BY_TABLE.get(getattr(obj, "__tablename__", ""), set())
    return [c for c in inspect(obj).mapper.column_attrs if c.key not in skip]


def _snapshot(obj) -> dict:
    values = {attr.key: _plain(getattr(obj, attr.key)) for attr in _columns(obj)}
    if getattr(obj, "__tablename__", None) == "ab_user":
        values["roles"] = _role_names(obj.__dict__.get("roles") or ())  # no lazy load inside a flush
    return values


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
    audited = _audited()
    for obj in session.new:
        if isinstance(obj, audited):
            pending.append(_entry(obj, "create", None, None))
    for obj in session.dirty:
        if isinstance(obj, audited) and session.is_modified(obj):
            before, after = _changes(obj)
            role_before, role_after = _role_changes(obj)
            before.update(role_before)
            after.update(role_after)
            if after:
                pending.append(_entry(obj, "update", before, after))
    for obj in session.deleted:
        if isinstance(obj, audited):
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


def audit_row(action: str, table_name: str, record_id, label: str, values: dict,
              actor: tuple[str, int | None] | None = None) -> dict:
    """One audit_log row for an operation recorded as a whole (its `values`: what it did)."""
    username, user_id = actor or current_actor()
    return dict(occurred_at=now_jst(), username=username, user_id=user_id, action=action[:10],
                table_name=table_name, record_id=str(record_id), record_label=str(label)[:200], before=None,
                after={key: _plain(value) for key, value in values.items()})


def record_bulk_action(action: str, obj, counts: dict) -> None:
    """One audit entry for an operation whose rows are written in bulk (no per-record entries), e.g. the
    close: `counts` says what it did (invoices numbered, states changed). Same transaction as the work."""
    from app.extensions import db

    db.session.connection().execute(AuditLog.__table__.insert(), [audit_row(action, obj.__tablename__, obj.id,
                                                                            str(obj), counts)])


def install_audit_listeners():
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
