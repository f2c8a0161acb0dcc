"""Member logins for the portal (issue 12 items 1 and 5; docs/portal.md): issued by staff — one at a time,
in bulk for every member without one, or by `flask etc portal-login` — reset, stopped and started again.

A login is a FAB user whose only role is 組合員, linked to its member by member_account. Its login ID is
the member code in lower case (m0001; a further login of the same member m0001-2, m0001-3 …). A password
Tollbook generates is printed once (the letter, the command's output), never stored in clear: the member
must change it at the first login and may not choose it again (its hash is kept for that). A password
given with --password is the member's own choice: no forced change.

Each function is one use case; FAB's user functions commit on their own, so the steps are ordered so that
a failure leaves nothing half done that a rerun would not repair (the user first, then the link).
"""
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import exists, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.domain.errors import DomainError
from app.domain.password_policy import password_problems
from app.extensions import appbuilder, db
from app.models import Member, MemberAccount
from app.models.member import ACTIVE
from app.models.mixins import now_jst
from app.security.roles import ROLE_MEMBER

from . import accounts, security_audit
from .actor import current_actor

# No 0/O, 1/l/I: the password is read off paper and typed on a phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def generate_password() -> str:
    """12 random characters in three groups (xxxx-xxxx-xxxx): about 59 bits, easy to copy from paper."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))


@dataclass(frozen=True)
class IssuedLogin:
    """What the letter and the command print. `password` is None when the member chose it (--password)."""

    member_id: int
    member_code: str
    member_name: str
    postal_code: str
    address: str
    login_id: str
    password: str | None
    created: bool  # a new login (else an existing one was reset)


def _member(code_or_id) -> Member:
    column = Member.id if isinstance(code_or_id, int) else Member.code
    member = db.session.scalar(select(Member).where(column == code_or_id))
    if member is None:
        raise DomainError(f"組合員コード「{code_or_id}」の組合員は登録されていません。")
    return member


def _free_login_id(member_code: str) -> str:
    sm = appbuilder.sm
    base = member_code.strip().lower()
    candidate, n = base, 1
    while sm.find_user(username=candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _check_own_password(password: str, login_id: str) -> None:
    problems = password_problems(password, login_id, member=True)
    if problems:
        raise DomainError(f"パスワード: {' '.join(problems)}", "password")


def _set_password(account: MemberAccount, user, password: str | None) -> str | None:
    """Store the password (generated when None); returns the generated one. Ends the user's sessions."""
    generated = password is None
    if generated:
        password = generate_password()
    else:
        _check_own_password(password, user.username)
    appbuilder.sm.reset_password(user.id, password)
    account.issued_at, account.issued_by = now_jst(), current_actor()[0]
    account.initial_password_hash = generate_password_hash(password) if generated else None
    db.session.commit()
    if generated:
        accounts.password_set_by_admin(user.id)  # changed at the first login; also lifts a lock
        detail = "事務局がポータルの初期パスワードを発行しました（初回ログインで変更が必要）"
    else:
        accounts.password_changed_by_owner(user.id)
        accounts.unlock(user)
        detail = "事務局が本人の指定したパスワードを設定しました"
    current_app.session_interface.end_user_sessions(user.id)
    security_audit.record("password", user.username, user.id, detail, actor="current")
    return password if generated else None


def _issued(member: Member, user, password: str | None, created: bool) -> IssuedLogin:
    return IssuedLogin(member.id, member.code, member.name, member.postal_code or "", member.address or "",
                       user.username, password, created)


def create_login(member_code_or_id, password: str | None = None) -> IssuedLogin:
    """A new login for the member (another one if it has some already)."""
    sm = appbuilder.sm
    member = _member(member_code_or_id)
    login_id = _free_login_id(member.code)
    if password is not None:
        _check_own_password(password, login_id)
    # the real password is set right after (its hash, the forced change and the audit entry in one place)
    user = sm.add_user(username=login_id, first_name=member.name[:64], last_name="",
                       email=f"{login_id}@member.invalid", role=sm.find_role(ROLE_MEMBER),
                       password=secrets.token_urlsafe(24))
    if not user:
        raise DomainError(f"ログイン「{login_id}」を作成できませんでした。")
    account = MemberAccount(user_id=user.id, member_id=member.id)
    db.session.add(account)
    db.session.flush()
    generated = _set_password(account, user, password)
    return _issued(member, user, generated, created=True)


def reset_login(user_id: int, password: str | None = None) -> IssuedLogin:
    """A new password for an existing member login (generated unless given)."""
    account = db.session.scalar(select(MemberAccount).where(MemberAccount.user_id == user_id))
    if account is None:
        raise DomainError("会員ページのログインではありません。")
    user = appbuilder.sm.get_user_by_id(user_id)
    generated = _set_password(account, user, password)
    return _issued(_member(account.member_id), user, generated, created=False)


def issue_login(member_code: str, password: str | None = None) -> IssuedLogin:
    """`flask etc portal-login`: creates the member's login, or resets its first one if it has one."""
    member = _member(member_code)
    first = db.session.scalar(select(MemberAccount.user_id).where(MemberAccount.member_id == member.id)
                              .order_by(MemberAccount.id).limit(1))
    if first is None:
        return create_login(member.id, password)
    return reset_login(first, password)


def members_without_login() -> list[int]:
    """Active members that have no portal login, in member-code order."""
    return list(db.session.scalars(
        select(Member.id).where(Member.status == ACTIVE,
                                ~exists().where(MemberAccount.member_id == Member.id)).order_by(Member.code)))


def issue_missing_logins() -> list[IssuedLogin]:
    """One login with a generated password for every active member without one."""
    return [create_login(member_id) for member_id in members_without_login()]


def set_login_stopped(user_id: int, stopped: bool) -> None:
    """利用停止 (the login cannot log in; its sessions end) or 利用再開."""
    account = db.session.scalar(select(MemberAccount).where(MemberAccount.user_id == user_id))
    if account is None:
        raise DomainError("会員ページのログインではありません。")
    user = appbuilder.sm.get_user_by_id(user_id)
    user.active = not stopped
    db.session.commit()
    if stopped:
        current_app.session_interface.end_user_sessions(user_id)
    security_audit.record("lock" if stopped else "unlock", user.username, user_id,
                          "事務局が会員ページのログインを停止しました" if stopped else "事務局が会員ページのログインを再開しました",
                          actor="current")


def is_initial_password(user_id: int, password: str) -> bool:
    """The password is the initial one Tollbook generated for this member login."""
    hashed = db.session.scalar(select(MemberAccount.initial_password_hash).where(MemberAccount.user_id == user_id))
    return bool(hashed and password and check_password_hash(hashed, password))
