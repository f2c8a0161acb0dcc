"""Kana names are stored as full-width katakana."""
import pytest
from hypothesis import given, strategies as st

from app.domain.errors import DomainError
from app.domain.kana import normalize_kana


@pytest.mark.parametrize("typed, stored", [
    ("やまだうんゆ", "ヤマダウンユ"),            # hiragana
    ("ﾔﾏﾀﾞｳﾝﾕ", "ヤマダウンユ"),                # half-width katakana with dakuten
    ("ﾊﾟｰｸ", "パーク"),                         # handakuten and half-width long vowel
    ("ヤマダウンユ", "ヤマダウンユ"),            # already full-width
    ("やまだ ｳﾝﾕ", "ヤマダ\u3000ウンユ"),        # mixed, ASCII space → full-width space
    ("ヤマダ   ウンユ", "ヤマダ\u3000ウンユ"),     # several spaces fold to one
    ("  とうかい  ", "トウカイ"),                 # trimmed
    ("ｶ)ﾔﾏﾀﾞ", "カ）ヤマダ"),                    # bank abbreviation for 株式会社
    ("ヴぁいおりん", "ヴァイオリン"),
    ("ABC", "ＡＢＣ"),
])
def test_kana_is_folded_to_full_width_katakana(typed, stored):
    assert normalize_kana(typed) == stored


@pytest.mark.parametrize("typed", ["", None, "   "])
def test_empty_kana_stays_empty(typed):
    assert normalize_kana(typed) == ""


def test_kanji_are_refused_with_a_message_naming_them():
    with pytest.raises(DomainError) as error:
        normalize_kana("山田ウンユ")
    assert error.value.message == "フリガナは全角カタカナで入力してください（使えない文字: 山田）。"
    assert error.value.field == "kana"


def test_the_message_names_each_bad_character_once_and_uses_the_given_label_and_field():
    with pytest.raises(DomainError) as error:
        normalize_kana("東京東京カ", "account_holder_kana", "口座名義カナ")
    assert error.value.field == "account_holder_kana"
    assert error.value.message.startswith("口座名義カナは全角カタカナで入力してください")
    bad = error.value.message.split("使えない文字: ")[1].rstrip("）。")
    assert sorted(bad) == sorted("東京")


@pytest.mark.parametrize("typed", ["ヤマダ@", "ヤマダ!", "ｙａｍａｄａ？"])
def test_symbols_are_refused(typed):
    with pytest.raises(DomainError):
        normalize_kana(typed)


@given(st.text(alphabet="ぁあいうえおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとど"
                        "なにぬねのはばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろゎわをんー ",
               min_size=1, max_size=20).filter(str.strip))
def test_any_hiragana_becomes_katakana_and_normalising_again_changes_nothing(text):
    once = normalize_kana(text)
    assert once
    assert not any("\u3041" <= ch <= "\u3096" for ch in once)
    assert normalize_kana(once) == once
