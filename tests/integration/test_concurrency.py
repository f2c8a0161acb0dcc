"""Concurrency with two REAL processes (issue 7 items 13 and 14), on SQLite and, with
TEST_DATABASE_URL, PostgreSQL. Each race is forced (tests/integration/race.py): both workers are
stopped at the database when the test lets them go."""
import pytest
from sqlalchemy import func, select

from app.models.billing import CANCELLED, CLOSED, ISSUED, BillingRun, Invoice
from app.models.usage import ImportBatch, UsageRecord
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.draft import run_billing

from .race import race
from .test_billing import ACTOR, C1, C2, add_usage, load_tariff, make_card, make_member
from .test_usage_cli import fixture

MONTH = "2026-10"


@pytest.fixture()
def month(db, tmp_path):
    """Two members with a card each and October usage; the tariff of test_billing."""
    load_tariff(tmp_path)
    first = make_member(db, "M001", "山田運輸")
    second = make_member(db, "M002", "佐藤物流")
    cards = [make_card(db, first, C1), make_card(db, second, C2)]
    add_usage(db, MONTH, [(cards[0], "NEXCO東日本", 12000), (cards[1], "NEXCO中日本", 8000)])
    return cards


def fresh(db):
    db.session.remove()
    return db.session


def no_traceback(outcome):
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert "Error" not in outcome.stderr.replace("DomainError", ""), outcome.stderr


def test_two_bills_for_a_month_without_run_give_one_draft(db, month, tmp_path):
    outcomes = race(tmp_path, ("cli", "bill", MONTH), ("cli", "bill", MONTH))
    for outcome in outcomes:
        no_traceback(outcome)
        assert outcome.ok, outcome.stderr
    messages = sorted(o.stdout.splitlines()[0].split(":")[0] for o in outcomes)
    assert messages == [f"{MONTH} の請求下書きを作成しました", f"{MONTH} の請求下書きを再計算しました"]
    session = fresh(db)
    assert session.scalar(select(func.count()).select_from(BillingRun)) == 1
    invoices = session.execute(select(Invoice.member_id, func.count()).group_by(Invoice.member_id)).all()
    assert sorted(count for _, count in invoices) == [1, 1]


def test_two_closes_one_wins_the_other_refuses_in_japanese(db, month, tmp_path):
    with acting_as(ACTOR):
        run_billing(MONTH)
    outcomes = race(tmp_path, ("cli", "close", MONTH), ("cli", "close", MONTH))
    for outcome in outcomes:
        no_traceback(outcome)
    winners = [o for o in outcomes if o.ok]
    losers = [o for o in outcomes if not o.ok]
    assert len(winners) == 1 and len(losers) == 1, [(o.code, o.stdout, o.stderr) for o in outcomes]
    assert f"{MONTH} を締めました: 請求書 2件" in winners[0].stdout
    assert f"{MONTH} は締め済みです" in losers[0].stderr
    session = fresh(db)
    run = session.scalar(select(BillingRun))
    stamp = f"{run.closed_at:%Y/%m/%d %H:%M}"
    assert stamp in winners[0].stdout and stamp in losers[0].stderr  # the loser names the first close
    numbers = session.scalars(select(Invoice.number).order_by(Invoice.number)).all()
    assert numbers == ["00000001", "00000002"]  # numbered once: the second close did not renumber
    assert session.scalar(select(func.count()).select_from(Invoice).where(Invoice.status == ISSUED)) == 2


def test_two_reissues_of_one_invoice_give_one_correction(db, month, tmp_path):
    with acting_as(ACTOR):
        run_billing(MONTH)
        close_billing_run(MONTH, ACTOR)
    original = db.session.scalar(select(Invoice).where(Invoice.number == "00000001"))
    outcomes = race(tmp_path, ("reissue", original.id), ("reissue", original.id))
    for outcome in outcomes:
        no_traceback(outcome)
    assert sorted(o.code for o in outcomes) == [0, 1], [(o.code, o.stdout, o.stderr) for o in outcomes]
    loser = next(o for o in outcomes if not o.ok)
    assert "請求書 00000001 は訂正により取り消されています" in loser.stderr
    session = fresh(db)
    assert session.get(Invoice, original.id).status == CANCELLED
    corrected = session.scalars(select(Invoice.number).where(Invoice.corrects_invoice_id == original.id)).all()
    assert corrected == ["00000003"]


def test_two_reissues_of_different_invoices_both_succeed(db, month, tmp_path):
    """No max(id)+1: two corrections at once get two ids and two numbers."""
    with acting_as(ACTOR):
        run_billing(MONTH)
        close_billing_run(MONTH, ACTOR)
    ids = db.session.scalars(select(Invoice.id).order_by(Invoice.number)).all()
    outcomes = race(tmp_path, ("reissue", ids[0]), ("reissue", ids[1]))
    for outcome in outcomes:
        no_traceback(outcome)
        assert outcome.ok, outcome.stderr
    session = fresh(db)
    numbers = sorted(session.scalars(select(Invoice.number).where(Invoice.corrects_invoice_id.is_not(None))))
    assert numbers == ["00000003", "00000004"]
    assert session.scalar(select(func.count()).select_from(Invoice).where(Invoice.status == CANCELLED)) == 2


def test_an_import_racing_the_close_never_lands_unbilled_in_a_closed_month(db, month, tmp_path):
    """Either the import lands first (then the close refuses: inputs changed) or the close does (then
    the import refuses: month closed). Never both."""
    with acting_as(ACTOR):
        run_billing(MONTH)
    outcomes = race(tmp_path, ("cli", "close", MONTH),
                    ("cli", "import", fixture("etc-meisai-2026-10.csv"), "--month", MONTH))
    close, imported = outcomes
    for outcome in outcomes:
        no_traceback(outcome)
    assert close.ok != imported.ok, [(o.code, o.stdout, o.stderr) for o in outcomes]
    session = fresh(db)
    run = session.scalar(select(BillingRun))
    batches = session.scalar(select(func.count()).select_from(ImportBatch))
    if close.ok:
        assert run.status == CLOSED and batches == 1
        assert "締め済みのため変更できません" in imported.stderr
    else:
        assert run.status != CLOSED and batches == 2
        assert f"{MONTH} は締められません" in close.stderr  # the import's rows are in its inputs now
        assert session.scalar(select(func.count()).select_from(UsageRecord)) == 2 + 7



def test_two_revisions_of_one_rule_version_give_one_new_version(db, month, tmp_path):
    """改定 (app/services/tariff_revision.revise_rule) locks the version before checking it: of two clerks
    revising the same version at once (different start dates), one adds the new version, the other finds it
    and is refused — never two overlapping versions of one rule."""
    from app.models.tariff import TariffRule

    row = db.session.scalars(select(TariffRule).order_by(TariffRule.position, TariffRule.id)).first()
    outcomes = race(tmp_path, ("revise", row.id, "2026-12-01"), ("revise", row.id, "2027-01-01"))
    for outcome in outcomes:
        no_traceback(outcome)
    assert sorted(o.code for o in outcomes) == [0, 1], [(o.code, o.stdout, o.stderr) for o in outcomes]
    session = fresh(db)
    versions = session.scalars(select(TariffRule).where(TariffRule.rule_id == row.rule_id)
                               .order_by(TariffRule.valid_from)).all()
    assert len(versions) == 2
    # the first version ends the day before the second starts: no overlap, no gap
    assert versions[0].valid_to is not None and versions[0].valid_to < versions[1].valid_from
