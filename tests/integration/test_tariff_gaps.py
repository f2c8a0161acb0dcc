"""issue 7 item 9: a tariff that leaves months without a version of a rule that exists before and after
them is refused (Japanese message naming the rule and the months), unless the version before the gap
says `ended: true`; `flask etc bill` names every rule that ends without a successor."""
import pytest
from sqlalchemy import select

from app.cli import etc
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.tariff import TariffImportRefused, check_tariff_data, import_tariff

from .test_billing import ACTOR, C1, TARIFF, add_usage, load_tariff, make_card, make_member

MONTHLY = """
  - id: member_monthly
    type: member_monthly_fee
    label: 組合員管理料
    amount: 660
    valid_from: 2026-10-01
"""
GAP = TARIFF.replace(MONTHLY, MONTHLY.replace("2026-10-01", "2026-12-01"))


def test_the_tariff_has_the_versions_this_test_changes():
    assert MONTHLY in TARIFF and GAP != TARIFF


def test_a_gap_between_versions_is_refused_naming_rule_and_months(db, tmp_path):
    path = tmp_path / "gap.yaml"
    path.write_text(GAP, encoding="utf-8")
    with pytest.raises(TariffImportRefused) as refused, acting_as(ACTOR):
        import_tariff(path)
    assert refused.value.errors == [
        "規則 member_monthly（組合員管理料）: 2026年10月〜2026年11月に有効な版がありません"
        "（2020-01-01 からの版が 2026-09-30 で終わり、次の版は 2026-12-01 から）。"
        "間の期間の版を追加するか、その期間は規則を止めるなら前の版に ended: true を書いてください。"]
    assert db.session.scalar(select(TariffRule.id)) is None  # nothing imported


def test_a_one_month_gap_is_named_as_one_month():
    with pytest.raises(TariffImportRefused) as refused:
        import yaml

        check_tariff_data(yaml.safe_load(TARIFF.replace(MONTHLY, MONTHLY.replace("2026-10-01", "2026-10-15"))))
    assert "2026年10月に有効な版がありません" in refused.value.errors[0]


def test_an_explicitly_ended_rule_may_pause(db, tmp_path):
    paused = GAP.replace("    valid_to: 2026-09-30\n", "    valid_to: 2026-09-30\n    ended: true\n", 1)
    assert paused != GAP
    path = tmp_path / "paused.yaml"
    path.write_text(paused, encoding="utf-8")
    with acting_as(ACTOR):
        assert "取り込みました" in import_tariff(path)
    assert db.session.scalar(select(TariffRule.params).where(TariffRule.rule_id == "member_monthly",
                                                             TariffRule.valid_to.is_not(None)))["ended"] is True


def test_ended_needs_an_end_date():
    import yaml

    with pytest.raises(TariffImportRefused) as refused:
        check_tariff_data(yaml.safe_load(TARIFF.replace("    amount: 110\n", "    amount: 110\n    ended: true\n")))
    assert refused.value.errors == ["規則 card_monthly（カード管理料）: ended: true の版には valid_to（終わる日）を書いてください。"]


def test_the_edit_screen_refuses_a_gap_too(admin_client, db, tmp_path):
    load_tariff(tmp_path)
    later = db.session.scalar(select(TariffRule).where(TariffRule.rule_id == "member_monthly",
                                                      TariffRule.valid_to.is_(None)))
    page = admin_client.post(f"/tariff/edit/{later.id}", data={
        "rule_id": "member_monthly", "type": "member_monthly_fee", "label": "組合員管理料",
        "valid_from": "2026-12-01", "valid_to": "", "amount": "660", "rounding": "floor"},
        follow_redirects=True).get_data(as_text=True)
    assert "2026年10月〜2026年11月に有効な版がありません" in page
    assert "前の版の「この版で規則を終える」に印を付けてください" in page
    db.session.expire_all()
    assert str(db.session.get(TariffRule, later.id).valid_from) == "2026-10-01"


def test_bill_names_a_rule_that_ends_without_successor(app, db, tmp_path):
    ends = TARIFF.replace("    label: カード管理料\n    amount: 110\n",
                          "    label: カード管理料\n    amount: 110\n    valid_to: 2026-09-30\n")
    assert ends != TARIFF
    load_tariff(tmp_path, ends, "ends.yaml")
    member = make_member(db, "M001", "山田運輸")
    add_usage(db, "2026-10", [(make_card(db, member, C1), "NEXCO東日本", 12000)])
    result = app.test_cli_runner().invoke(etc, ["bill", "2026-10"])
    assert result.exit_code == 0, result.output
    assert ("【要確認】料金表の規則が終わり、後の版がありません（終了後の月には請求されません。止めるつもりなら ended: true を、"
            "続けるなら次の版を追加してください）: card_monthly（カード管理料）2026/09/30まで（1件）") in result.output
