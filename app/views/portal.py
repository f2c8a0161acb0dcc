"""会員ポータル: a member sees its own data only. Every query is filtered by the member of the login."""
from flask import abort
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Card, Member, MemberAccount


def current_member_id() -> int:
    member_id = db.session.scalar(select(MemberAccount.member_id).where(MemberAccount.user_id == current_user.id))
    if member_id is None:
        abort(403)
    return member_id


class PortalView(BaseView):
    route_base = "/portal"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        member_id = current_member_id()
        member = db.session.get(Member, member_id)
        cards = db.session.scalars(select(Card).where(Card.member_id == member_id).order_by(Card.number)).all()
        return self.render_template("tollbook/portal.html", member=member, cards=cards)
