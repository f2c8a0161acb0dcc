"""会員ページのログイン (staff screen): members with their portal logins, and a login's history (the
login events app/services/security_audit.py writes to the audit log)."""
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.extensions import appbuilder, db
from app.models import AccountSecurity, AuditLog, Member, MemberAccount, PortalNotice
from app.models.mixins import now_jst
from app.services.security_audit import ACTIONS

PAGE = 100


@dataclass(frozen=True)
class LoginRow:
    member_id: int
    member_code: str
    member_name: str
    email: str
    user_id: int | None  # None: the member has no login yet
    login_id: str | None
    active: bool
    locked: bool
    must_change: bool
    last_login: dt.datetime | None
    issued_at: dt.datetime | None

    @property
    def state(self) -> str:
        if self.user_id is None:
            return "未発行"
        if not self.active:
            return "停止中"
        if self.locked:
            return "ロック中"
        return "初回変更待ち" if self.must_change else "利用中"


def member_logins(text: str = "", page: int = 0) -> tuple[list[LoginRow], int]:
    """Members (code order) with each of their logins, one row per login (a member without one: one row)."""
    user = appbuilder.sm.user_model
    query = (select(Member.id, Member.code, Member.name, Member.email, user.id, user.username, user.active,
                    AccountSecurity.locked_until, AccountSecurity.must_change_password, user.last_login,
                    MemberAccount.issued_at)
             .outerjoin(MemberAccount, MemberAccount.member_id == Member.id)
             .outerjoin(user, user.id == MemberAccount.user_id)
             .outerjoin(AccountSecurity, AccountSecurity.user_id == user.id))
    if text.strip():
        like = f"%{text.strip()}%"
        query = query.where(or_(Member.code.ilike(like), Member.name.ilike(like), Member.kana.ilike(like),
                                user.username.ilike(like)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    now = now_jst()
    rows = [LoginRow(r[0], r[1], r[2], r[3] or "", r[4], r[5], bool(r[6]), bool(r[7] and r[7] > now), bool(r[8]),
                     r[9], r[10])
            for r in db.session.execute(query.order_by(Member.code, MemberAccount.id).limit(PAGE).offset(page * PAGE))]
    return rows, total


@dataclass(frozen=True)
class HistoryRow:
    occurred_at: dt.datetime
    action: str
    detail: str
    by: str
    address: str


def login_history(user_id: int, limit: int = 200) -> list[HistoryRow]:
    rows = db.session.execute(
        select(AuditLog.occurred_at, AuditLog.action, AuditLog.after, AuditLog.username)
        .where(AuditLog.table_name == "ab_user", AuditLog.record_id == str(user_id), AuditLog.action.in_(ACTIONS))
        .order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc()).limit(limit))
    return [HistoryRow(at, ACTIONS.get(action, action), (after or {}).get("detail", ""), who,
                       (after or {}).get("ip", "")) for at, action, after, who in rows]


def portal_login(user_id: int) -> tuple[str, str, str] | None:
    """(login ID, member code, member name) of a member login."""
    user = appbuilder.sm.user_model
    row = db.session.execute(select(user.username, Member.code, Member.name)
                             .join(MemberAccount, MemberAccount.user_id == user.id)
                             .join(Member, Member.id == MemberAccount.member_id)
                             .where(user.id == user_id)).first()
    return tuple(row) if row else None


def notice_log(month: str | None, limit: int = 1000):
    """The notice mails (newest month first, then member code) and the months that have any."""
    months = list(db.session.scalars(select(PortalNotice.month).distinct().order_by(PortalNotice.month.desc())))
    month = month or (months[0] if months else None)
    rows = db.session.execute(
        select(PortalNotice.id, PortalNotice.month, Member.code, Member.name, PortalNotice.email, PortalNotice.status,
               PortalNotice.attempts, PortalNotice.error, PortalNotice.sent_at, PortalNotice.next_attempt_at)
        .join(Member, Member.id == PortalNotice.member_id).where(PortalNotice.month == month)
        .order_by(Member.code).limit(limit)).all() if month else []
    return months, rows
