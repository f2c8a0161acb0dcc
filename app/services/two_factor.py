"""Two-factor authentication for staff (issue 8 §8): TOTP (RFC 6238, 30-second codes of 6 digits,
any authenticator app) with pyotp, and one-time recovery codes.

Required for 管理者 and 責任者 (they can close months and change users), optional for 事務; members log
in with the password only. The QR code for enrolment is drawn here (segno, inline SVG): the secret
never leaves the server for a QR service.
"""
import hashlib
import secrets
import time

import pyotp
import segno

from flask import current_app

from app.extensions import db
from app.models import AccountSecurity
from app.models.mixins import now_jst
from app.security.roles import ROLE_ADMIN, ROLE_MANAGER, ROLE_STAFF

ISSUER = "Tollbook"
OFFERED_ROLES = frozenset({ROLE_ADMIN, ROLE_MANAGER, ROLE_STAFF})
RECOVERY_CODES = 10


def role_names(user) -> set[str]:
    return {role.name for role in user.roles}


def is_required(user) -> bool:
    """config TWO_FACTOR_REQUIRED_ROLES: 管理者 and 責任者."""
    return bool(role_names(user) & set(current_app.config["TWO_FACTOR_REQUIRED_ROLES"]))


def is_offered(user) -> bool:
    return bool(role_names(user) & OFFERED_ROLES)


def _state(user_id: int) -> AccountSecurity | None:
    return db.session.get(AccountSecurity, user_id)


def is_enabled(user_id: int) -> bool:
    state = _state(user_id)
    return bool(state and state.totp_secret)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup (drawn locally)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def _digits(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").lower().encode()).hexdigest()


def _matching_step(secret: str, code: str) -> int | None:
    """The 30-second time step whose code this is: now, or one step either side (clock drift)."""
    totp = pyotp.TOTP(secret)
    current = int(time.time()) // totp.interval
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def confirm_first_code(secret: str, code: str) -> bool:
    code = _digits(code)
    return len(code) == 6 and code.isdigit() and _matching_step(secret, code) is not None


def enable(user_id: int, secret: str) -> list[str]:
    """Turn two-factor on with a secret the user has confirmed; returns the recovery codes (shown once)."""
    state = _state(user_id)
    if state is None:
        state = AccountSecurity(user_id=user_id, must_change_password=False)
        db.session.add(state)
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(RECOVERY_CODES)]
    state.totp_secret = secret
    state.totp_enabled_at = now_jst()
    state.totp_last_step = None
    state.recovery_codes = [_hash(code) for code in codes]
    db.session.commit()
    return codes


def disable(user_id: int) -> bool:
    state = _state(user_id)
    if state is None or not state.totp_secret:
        return False
    state.totp_secret = state.totp_enabled_at = state.totp_last_step = None
    state.recovery_codes = None
    db.session.commit()
    return True


def verify(user_id: int, code: str) -> str | None:
    """'totp' or 'recovery' when the code is right (a recovery code is used up), else None.
    A TOTP code is accepted once: its time step is remembered (RFC 6238 §5.2)."""
    state = _state(user_id)
    if state is None or not state.totp_secret:
        return None
    code = _digits(code)
    if len(code) == 6 and code.isdigit():
        step = _matching_step(state.totp_secret, code)
        if step is None or (state.totp_last_step is not None and step <= state.totp_last_step):
            return None
        state.totp_last_step = step
        db.session.commit()
        return "totp"
    hashed = _hash(code)
    remaining = list(state.recovery_codes or [])
    for stored in remaining:
        if secrets.compare_digest(stored, hashed):
            remaining.remove(stored)
            state.recovery_codes = remaining
            db.session.commit()
            return "recovery"
    return None


def recovery_codes_left(user_id: int) -> int:
    state = _state(user_id)
    return len(state.recovery_codes or []) if state else 0
