"""Words that follow the operator type: a cooperative has 組合員, a company has 支店・営業所."""
from flask import g, has_app_context, has_request_context, request
from flask_babel import LazyString

from app.extensions import db


def member_term() -> str:
    if not has_app_context():
        return "組合員"
    if "member_term" not in g:
        from app.models import OperatorSettings

        try:
            settings = db.session.query(OperatorSettings).first()
        except Exception:  # tables not migrated yet (first `flask etc init`)
            db.session.rollback()
            settings = None
        g.member_term = settings.member_term if settings else "組合員"
    return g.member_term


def with_member(template: str) -> LazyString:
    """A label such as with_member('{m}コード') that reads 組合員コード or 支店・営業所コード per request."""
    return LazyString(lambda: template.format(m=member_term()))


# Who did it, as people read it (issue 9 item 11): the commands record themselves as `flask etc …`
# (acting_as in app/cli.py), people by their login name. Screens show the command's task and the
# person's name; exports and the stored rows keep the codes.
_COMMANDS = {
    "demo": "デモデータの登録", "init": "初期設定", "import": "走行明細の取込", "import-inbox": "受信フォルダからの取込",
    "import-master": "マスタ取込", "import-ics": "ICマスタの取込", "bill": "請求の下書き", "close": "締め",
    "unlock": "ロック解除", "tariff import": "料金表の取込", "import-operator-discounts": "道路事業者割引の取込",
    "render-documents": "帳票の作成", "documents": "帳票の出力", "run-job": "定期処理の実行", "jobs": "定期処理の一覧",
}


def actor_label(actor) -> str:
    """'flask etc demo' → 'デモデータの登録（コマンド）'; 'jimu' → '事務 花子' (the user's name); else as stored."""
    if actor is None:
        return ""
    text = str(actor)
    if text.startswith("flask etc "):
        command, _, rest = text[len("flask etc "):].partition("（")
        task = _COMMANDS.get(command.strip(), "自動処理")
        who = f"・{rest.rstrip('）')}" if rest else ""
        return f"{task}（コマンド{who}）"
    return _user_names().get(text, text)


def _user_names() -> dict[str, str]:
    """login name → 'first last', read once per request. Kept in the request's environ, not in `g`
    keyed by id(request): tests and CLI share one application context across many requests, and a
    freed request's id is reused by the next one, which then read a stale cache (CI, 2026-11-30)."""
    if not has_app_context():
        return {}
    if has_request_context() and "tollbook.user_names" in request.environ:
        return request.environ["tollbook.user_names"]
    from app.extensions import appbuilder

    try:
        users = db.session.query(appbuilder.sm.user_model).all()
        names = {u.username: f"{u.first_name or ''} {u.last_name or ''}".strip() or u.username for u in users}
    except Exception:  # noqa: BLE001  (no user table yet)
        db.session.rollback()
        names = {}
    if has_request_context():
        request.environ["tollbook.user_names"] = names
    return names
