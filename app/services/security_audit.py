"""Security events in the audit log (操作履歴): logins, failures, locks, unlocks, logouts, password
changes and two-factor changes (issue 8 §8). One row each, table `ab_user`, committed at once: a
refused login has no business transaction to join."""
from flask import has_request_context, request

from app.extensions import db
from app.models import AuditLog
from app.models.mixins import now_jst

from .actor import current_actor

# action code (AuditLog.action, 10 characters at most) → what the audit screen shows
ACTIONS = {"login": "ログイン", "login_fail": "ログイン失敗", "logout": "ログアウト", "lock": "ロック",
           "unlock": "ロック解除", "password": "パスワード変更", "2fa_on": "2段階認証を設定",
           "2fa_off": "2段階認証を解除"}


def record(action: str, login: str | None, user_id: int | None, detail: str, *, actor: str | None = None) -> None:
    """`login`/`user_id`: the account concerned; `actor`: who did it when that is someone else
    (an administrator), otherwise the account itself."""
    if actor is None:
        who, who_id = login or "（不明）", user_id
    else:
        who, who_id = current_actor() if actor == "current" else (actor, None)
    after = {"detail": detail}
    if has_request_context():
        after["ip"] = request.remote_addr
    db.session.execute(AuditLog.__table__.insert(), dict(
        occurred_at=now_jst(), username=(who or "（不明）")[:128], user_id=who_id, action=action,
        table_name="ab_user", record_id=str(user_id) if user_id else "-", record_label=(login or "")[:200],
        before=None, after=after))
    db.session.commit()
