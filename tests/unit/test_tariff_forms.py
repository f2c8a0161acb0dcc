"""The tariff's labelled fields (issue 9 item 16): yen, percent and the 段階 table read what a clerk types
and refuse the rest in Japanese; the domain's 改定 ends the old version the day before."""
import datetime as dt

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form

from app.domain.errors import DomainError
from app.domain.tariff import Scope, parse_rule, revised
from app.views.tariff_forms import PercentField, StepsField, YenField, japanese_message


class Fields(Form):
    amount = YenField("金額（円）")
    rate = PercentField("率（％）")
    bands = StepsField("段階", headings=("上限額", "割引率（％）"), open_last=True)
    tiers = StepsField("段階", headings=("超える額", "割引率（％）"))


def read(**typed):
    form = Fields(MultiDict([(k, v) for k, values in typed.items()
                             for v in (values if isinstance(values, list) else [values])]))
    form.validate()
    return form


@pytest.mark.parametrize("typed, value", [("660", 660), ("1,000", 1000), ("１，０００円", 1000), ("", None)])
def test_yen_is_read_as_printed(typed, value):
    form = read(amount=typed)
    assert form.amount.data == value and not form.amount.errors


@pytest.mark.parametrize("typed, message", [("-5", "金額は0以上の整数（円）で入力してください。"),
                                            ("12.5", "金額は0以上の整数（円）で入力してください。"),
                                            ("六百", "金額は円の整数で入力してください（例: 660、1,000）。")])
def test_yen_refused_in_japanese(typed, message):
    assert read(amount=typed).amount.errors == [message]


@pytest.mark.parametrize("typed, value", [("2", "0.02"), ("9.8", "0.098"), ("10%", "0.1"), ("１０％", "0.1"),
                                          ("0", "0"), ("100", "1")])
def test_percent_is_kept_as_the_rules_decimal(typed, value):
    form = read(rate=typed)
    assert form.rate.data == value and not form.rate.errors
    assert form.rate._value() == typed or form.rate.raw_data


def test_percent_shown_back_in_percent():
    form = Fields(data={"rate": "0.10"})
    assert form.rate._value() == "10"
    assert Fields(data={"rate": "0.098"}).rate._value() == "9.8"


@pytest.mark.parametrize("typed, message", [("150", "率は 0〜100 の数で入力してください（8%% なら 8）。"),
                                            ("八", "率は %% の数で入力してください（8%% なら 8、9.8%% なら 9.8）。")])
def test_percent_refused_in_japanese(typed, message):
    # (% doubled: FAB's field template passes every error through gettext's %-format)
    assert read(rate=typed).rate.errors == [message]


def test_bands_table_with_an_open_last_step():
    form = read(**{"bands-amount": ["5,000", "10000", "", ""], "bands-rate": ["0", "10", "20", ""]})
    assert form.bands.data == [[5000, "0"], [10000, "0.1"], [None, "0.2"]] and not form.bands.errors


@pytest.mark.parametrize("amounts, rates, message", [
    (["", "5000"], ["0", "10"], "1段目: 上限額を入力してください（上限なしは最後の段だけです）。"),
    (["5000"], [""], "1段目: 割引率（％）を入力してください。"),
    (["5000", "x"], ["0", "10"], "2段目: 金額は円の整数、率は %% の数で入力してください（10%% なら 10）。"),
    (["5000"], ["120"], "1段目: 率は 0〜100 の数で入力してください。"),
])
def test_bands_refused_naming_the_step(amounts, rates, message):
    form = read(**{"bands-amount": amounts, "bands-rate": rates})
    assert form.bands.errors == [message]


def test_tiers_need_every_amount():
    form = read(**{"tiers-amount": ["0", ""], "tiers-rate": ["1", "2"]})
    assert form.tiers.errors == ["2段目: 超える額を入力してください。"]


def test_domain_messages_read_in_japanese():
    with pytest.raises(DomainError) as refused:
        parse_rule({"id": "x", "type": "vehicle_discount", "bands": [[10000, "0"], [5000, "0.1"], [None, "0.2"]]})
    assert "段階 の上限額は 0 より大きく、小さい順に並べてください" in japanese_message(refused.value.message)
    assert japanese_message("規則1（fee）: amount_per_row は0以上の整数（円）です。") == "1件あたりの金額 は0以上の整数（円）です。"


def _fee(valid_from=dt.date(2000, 1, 1), valid_to=None):
    return parse_rule({"id": "member_monthly", "type": "member_monthly_fee", "label": "組合員管理料", "amount": 660,
                       "valid_from": valid_from, "valid_to": valid_to})


def test_revision_ends_the_old_version_the_day_before():
    ended, new = revised(_fee(), dt.date(2026, 10, 1), {"amount": 770}, "組合員管理料", Scope(), "floor")
    assert (ended.valid_from, ended.valid_to, ended.params) == (dt.date(2000, 1, 1), dt.date(2026, 9, 30), {"amount": 660})
    assert (new.rule_id, new.valid_from, new.valid_to, new.params) == ("member_monthly", dt.date(2026, 10, 1), None,
                                                                        {"amount": 770})
    assert ended.valid_in("2026-09") and not ended.valid_in("2026-10") and new.valid_in("2026-10")


@pytest.mark.parametrize("old, starts, later, message", [
    (_fee(), dt.date(2000, 1, 1), [], "改定日は今の版の有効開始日（2000/01/01）より後の日にしてください。"),
    (_fee(valid_to=dt.date(2026, 3, 31)), dt.date(2026, 4, 1), [], "今の版は 2026/03/31 で終わっています。"),
    (_fee(), dt.date(2026, 4, 1), [_fee(dt.date(2027, 1, 1))], "2027/01/01 からの新しい版があります"),
])
def test_revision_refused_in_japanese(old, starts, later, message):
    with pytest.raises(DomainError) as refused:
        revised(old, starts, {"amount": 770}, "組合員管理料", Scope(), "floor", later)
    assert message in refused.value.message and refused.value.field == "valid_from"
