"""`flask etc init` and `flask etc demo`: safe to run again."""
import pytest
from sqlalchemy import func, select

from app.extensions import appbuilder
from app.models import Agency, AuditLog, Card, CardEvent, Member, MemberAccount, OperatorSettings, Vehicle


@pytest.fixture(autouse=True)
def restore_users(db):
    """The admin user and its password live for the whole run: put them back for the other tests."""
    yield
    from tests.conftest import ADMIN_PASSWORD

    db.session.rollback()
    sm = appbuilder.sm
    sm.reset_password(sm.find_user(username="admin").id, ADMIN_PASSWORD)
    db.session.execute(MemberAccount.__table__.delete())
    for name in ("jimu", "sekinin", "m0001"):
        user = sm.find_user(username=name)
        if user is not None:
            sm.session.delete(user)
    db.session.commit()


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_init_twice_is_safe_and_sets_the_admin_password(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["etc", "init", "--admin-password", "x-new-admin-pass-1"])
    assert first.exit_code == 0, first.output
    assert "管理者ユーザー" in first.output
    assert "ロール: 管理者, 事務, 責任者, 組合員" in first.output
    second = runner.invoke(args=["etc", "init", "--admin-password", "x-new-admin-pass-2"])
    assert second.exit_code == 0, second.output
    assert "管理者ユーザー: admin" in second.output
    sm = appbuilder.sm
    assert sm.auth_user_db("admin", "x-new-admin-pass-2") is not None
    assert sm.auth_user_db("admin", "x-new-admin-pass-1") is None
    # one admin, one operator row, the four roles, the existing users untouched
    assert [u.username for u in sm.get_all_users()].count("admin") == 1
    assert count(db, OperatorSettings) == 1
    assert {r.name for r in sm.get_all_roles()} >= {"管理者", "事務", "責任者", "組合員"}
    assert sm.find_user(username="staff") is not None


def test_init_without_password_keeps_the_existing_one(app, db):
    from tests.conftest import ADMIN_PASSWORD

    runner = app.test_cli_runner()
    runner.invoke(args=["etc", "init", "--admin-password", ADMIN_PASSWORD])
    result = runner.invoke(args=["etc", "init"])
    assert result.exit_code == 0, result.output
    assert "管理者ユーザー admin は作成済みです（パスワードは変更していません）。" in result.output
    assert appbuilder.sm.auth_user_db("admin", ADMIN_PASSWORD) is not None


def test_admin_can_log_in_after_init(app, db):
    from tests.conftest import login

    app.test_cli_runner().invoke(args=["etc", "init", "--admin-password", "x-cli-pass-99"])
    client = app.test_client()
    login(client, "admin", "x-cli-pass-99")
    assert client.get("/users/list/").status_code == 200


def test_demo_loads_once(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["etc", "demo"])
    assert result.exit_code == 0, result.output
    assert "デモデータを登録しました" in result.output
    members, cards, events = count(db, Member), count(db, Card), count(db, CardEvent)
    assert members == 20
    assert 55 <= cards <= 65
    assert count(db, Agency) == 2 and count(db, Vehicle) >= 60
    assert events >= cards  # every card has its issue/add event, plus the demo's card events
    assert f"{members}組合員" in result.output and f"{cards}カード" in result.output
    kinds = dict(db.session.execute(select(CardEvent.kind, func.count()).group_by(CardEvent.kind)).all())
    assert {"issue", "add", "loss", "reissue", "vehicle_change", "cancel"} <= set(kinds)
    assert kinds["issue"] == members  # the first card of each member is an issue, the rest are adds
    statuses = {s for (s,) in db.session.execute(select(Card.status)).all()}
    assert {"active", "lost", "reissued", "cancelled"} <= statuses
    settings = db.session.scalar(select(OperatorSettings))
    assert settings.name == "東都運送事業協同組合" and settings.registration_number == "T7000012050002"
    # demo logins, and the member login linked to its member
    sm = appbuilder.sm
    assert sm.find_user(username="jimu") is not None and sm.find_user(username="sekinin") is not None
    link = db.session.scalar(select(MemberAccount))
    assert link.user_id == sm.find_user(username="m0001").id and link.member.code == "M0001"
    # every change went through the audit log as the demo command
    assert {u for (u,) in db.session.execute(select(AuditLog.username).distinct()).all()} == {"flask etc demo"}
    audited = count(db, AuditLog)
    # two months of usage through the import service: the older closed, the newer a draft to finish
    from app.domain.clock import today_jst
    from app.domain.month import Month
    from app.models import BillingRun, ImportBatch, Invoice, UsageRecord
    from app.models.usage import FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS

    today = today_jst()
    newer = Month(today.year, today.month).previous()
    older = newer.previous()
    runs = dict(db.session.execute(select(BillingRun.month, BillingRun.status)).all())
    assert runs == {str(older): "closed", str(newer): "draft"}
    assert {b.usage_month for b in db.session.scalars(select(ImportBatch))} == {str(older), str(newer)}
    assert f"{older.label}分は締め済" in result.output and f"{newer.label}分は請求の下書き" in result.output
    # the closed month's documents are there for the portal: four kinds × PDF and Excel per member
    from app.models.document import RENDERED, IssuedDocument

    rendered = db.session.scalar(select(func.count()).select_from(IssuedDocument).where(
        IssuedDocument.month == str(older), IssuedDocument.status == RENDERED))
    assert rendered == members * 8 and f"（帳票 {rendered:,}件）" in result.output

    def flagged(month, bit):
        return db.session.scalar(select(func.count()).select_from(UsageRecord).where(
            UsageRecord.usage_month == str(month), UsageRecord.flags.op("&")(bit) != 0))

    assert flagged(newer, FLAG_UNREGISTERED_CARD) >= 2 and flagged(newer, FLAG_USED_AFTER_LOSS) == 1
    assert flagged(older, FLAG_UNREGISTERED_CARD) == 0
    assert db.session.scalar(select(func.count()).select_from(UsageRecord).where(
        UsageRecord.usage_month == str(older), func.coalesce(UsageRecord.road_operator, "") == "")) == 0
    issued = db.session.scalars(select(Invoice).where(Invoice.month == str(older))).all()
    assert len(issued) == members and all(i.number and i.total > 0 for i in issued)
    # the IC master's operators gave discounts (the demo's files have no operator column)
    assert sum(i.discount_total for i in issued) > 0

    again = runner.invoke(args=["etc", "demo"])
    assert again.exit_code == 0, again.output
    assert "デモデータは既に入っています（何も変更していません）。" in again.output
    assert (count(db, Member), count(db, Card), count(db, CardEvent)) == (members, cards, events)
    assert count(db, AuditLog) == audited


def test_demo_data_obeys_the_card_rules(app, db):
    app.test_cli_runner().invoke(args=["etc", "demo"])
    cards = db.session.scalars(select(Card)).all()
    for card in cards:
        assert card.number.isdigit()
        if card.kind == "corporate":
            assert len(card.number) == 16 and card.vehicle is not None
            assert card.vehicle.member_id == card.member_id
    reissued = [c for c in cards if c.status == "reissued"]
    assert reissued and all(c.successors for c in reissued)


def test_demo_login_works(app, db):
    from tests.conftest import login

    app.test_cli_runner().invoke(args=["etc", "demo"])
    client = app.test_client()
    login(client, "m0001", "tollbook-demo")
    page = client.get("/portal/").get_data(as_text=True)
    first = db.session.scalar(select(Member).where(Member.code == "M0001"))
    assert first.name in page
    other = db.session.scalar(select(Card).where(Card.member_id != first.id))
    assert other.number_text() not in page
