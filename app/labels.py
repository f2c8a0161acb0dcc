"""Words that follow the operator type: a cooperative has 組合員, a company has 支店・営業所."""
from flask import g, has_app_context
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
