"""会員ポータル: a member sees its own data only. Every query is filtered by the member of the login."""
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Card, Member, MemberAccount
from app.security.roles import ROLE_MEMBER


def current_member_id() -> int | None:
    """The member this login may see; every portal query filters by it."""
    return db.session.scalar(select(MemberAccount.member_id).where(MemberAccount.user_id == current_user.id))


def is_member_login() -> bool:
    return current_user.is_authenticated and any(r.name == ROLE_MEMBER for r in current_user.roles)


class PortalView(BaseView):
    route_base = "/portal"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        member_id = current_member_id()
        if member_id is None:
            return self.render_template("tollbook/portal_unlinked.html"), 403
        member = db.session.get(Member, member_id)
        cards = db.session.scalars(select(Card).where(Card.member_id == member_id).order_by(Card.number)).all()
        return self.render_template("tollbook/portal.html", member=member, cards=cards)
