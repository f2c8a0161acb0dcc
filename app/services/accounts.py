"""Login accounts' security state: lock after repeated failures, forced password change, password
changes that end every session (docs/security.md). The FAB security manager and the user screens
call these; each commits its own small transaction."""
import datetime as dt

from flask import current_app
from sqlalchemy import delete

from app.extensions import db
from app.models import AccountSecurity
from app.models.mixins import now_jst


def _state(user_id: int) -> AccountSecurity:
    state = db.session.get(AccountSecurity, user_id)
    if state is None:
        state = AccountSecurity(user_id=user_id, must_change_password=False)
        db.session.add(state)
    return state


def lockout_threshold() -> int:
    return int(current_app.config["AUTH_LOCKOUT_THRESHOLD"])


def is_locked(user) -> bool:
    """True while the account is locked. A lock whose time has passed is lifted here, with a fresh
    count of attempts (FAB's fail_login_count)."""
    state = db.session.get(AccountSecurity, user.id)
    if state is None or state.locked_until is None:
        return False
    if state.locked_until > now_jst():
        return True
    state.locked_at = state.locked_until = None
    user.fail_login_count = 0
    db.session.commit()
    return False


def lock_if_too_many_failures(user) -> bool:
    """Called after FAB counted a failed login. Returns True when this failure locked the account."""
    if (user.fail_login_count or 0) < lockout_threshold():
        return False
    state = _state(user.id)
    if state.locked_until is not None and state.locked_until > now_jst():
        return False
    state.locked_at = now_jst()
    state.locked_until = state.locked_at + dt.timedelta(minutes=int(current_app.config["AUTH_LOCKOUT_MINUTES"]))
    db.session.commit()
    return True


def unlock(user) -> bool:
    """An administrator's unlock. Returns whether the account was locked."""
    state = db.session.get(AccountSecurity, user.id)
    was_locked = bool(state and state.locked_until and state.locked_until > now_jst())
    if state is not None:
        state.locked_at = state.locked_until = None
    user.fail_login_count = 0
    db.session.commit()
    return was_locked


def must_change_password(user_id: int) -> bool:
    state = db.session.get(AccountSecurity, user_id)
    return bool(state and state.must_change_password)


def password_set_by_admin(user_id: int) -> None:
    """An administrator set this password (new user or reset): the owner must choose their own at
    next login, and the lock is lifted."""
    state = _state(user_id)
    state.must_change_password = True
    state.locked_at = state.locked_until = None
    state.password_changed_at = now_jst()
    db.session.commit()


def password_changed_by_owner(user_id: int) -> None:
    state = _state(user_id)
    state.must_change_password = False
    state.password_changed_at = now_jst()
    db.session.commit()


def forget(user_id: int) -> None:
    """A new user row must not inherit a deleted user's state (SQLite reuses the highest id)."""
    db.session.execute(delete(AccountSecurity).where(AccountSecurity.user_id == user_id))
    db.session.commit()
