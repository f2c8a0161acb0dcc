"""The one kana pipeline for 全銀 fields (app.domain.kana.to_zengin_kana, zengin-format.md §5)."""
import pytest

from app.domain.errors import DomainError
from app.domain.kana import to_zengin_kana


@pytest.mark.parametrize("typed, written", [
    ("キャノン", "ｷﾔﾉﾝ"),                    # small kana enlarged
    ("ガッコウ", "ｶﾞﾂｺｳ"),                   # small tsu, voiced mark as a second byte
    ("ヨーコ", "ﾖ-ｺ"),                       # long vowel → hyphen, never ｰ
    ("ﾖｰｺ", "ﾖ-ｺ"),                          # half-width long vowel too
    ("パーク", "ﾊﾟ-ｸ"),
    ("ヴィラ", "ｳﾞｲﾗ"),
    ("やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),            # hiragana, full-width space
    ("（カ）ヤマダ", "(ｶ)ﾔﾏﾀﾞ"),              # full-width parentheses
    ("カ）ヤマダウンユ", "ｶ)ﾔﾏﾀﾞｳﾝﾕ"),
    ("株式会社ヤマダ運輸", None),              # kanji left over: refused (see below)
    ("株式会社ヤマダ", "ｶ)ﾔﾏﾀﾞ"),              # 法人格 at the start
    ("ヤマダ株式会社", "ﾔﾏﾀﾞ(ｶ"),              # at the end
    ("カブシキガイシャ　ヤマダ", "ｶ)ﾔﾏﾀﾞ"),     # spelt in kana
    ("ヤマダ有限会社", "ﾔﾏﾀﾞ(ﾕ"),
    ("ヤマダ株式会社トウキョウ", "ﾔﾏﾀﾞ(ｶ)ﾄｳｷﾖｳ"),
    ("ｙａｍａｄａ　１２", "YAMADA 12"),      # full-width letters and digits, upper case
    ("ﾐﾂﾋﾞｼ・ﾕｰｴﾌｼﾞｪｲ", "ﾐﾂﾋﾞｼ.ﾕ-ｴﾌｼﾞｴｲ"),     # middle dot → "."
    ("ヰヱ", "ｲｴ"),
])
def test_names_become_valid_half_width_kana(typed, written):
    if written is None:
        with pytest.raises(DomainError, match="運輸"):
            to_zengin_kana(typed)
    else:
        assert to_zengin_kana(typed) == written


def test_wo_only_in_the_wide_set_or_edi():
    with pytest.raises(DomainError, match="ｦ"):
        to_zengin_kana("ヲカ")
    assert to_zengin_kana("ヲカ", charset="wide") == "ｦｶ"
    assert to_zengin_kana("ヲ", kind="edi") == "ｦ"


def test_bank_names_take_the_hyphen_only():
    assert to_zengin_kana("ミツビシユ－エフジエイ", kind="bank") == "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ"
    with pytest.raises(DomainError, match=r"\("):
        to_zengin_kana("(カ)ヤマダ", kind="bank")


def test_slash_and_comma_are_wide_only_and_never_in_edi():
    with pytest.raises(DomainError):
        to_zengin_kana("ヤマダ/タロウ")
    assert to_zengin_kana("ヤマダ/タロウ", charset="wide") == "ﾔﾏﾀﾞ/ﾀﾛｳ"
    with pytest.raises(DomainError, match=","):
        to_zengin_kana("ｺﾐﾂｼﾖﾝ,1", kind="edi", charset="wide")


def test_too_long_is_refused_not_cut():
    name = "ヤ" * 30
    assert to_zengin_kana(name, length=30) == "ﾔ" * 30
    with pytest.raises(DomainError, match="31バイト"):
        to_zengin_kana("ヤ" * 29 + "ガ", length=30, label="預金者名")  # ガ is two bytes: never cut between them


def test_orphan_voiced_marks_are_refused():
    with pytest.raises(DomainError, match="濁点"):
        to_zengin_kana("ﾞｱ")
    with pytest.raises(DomainError, match="濁点"):
        to_zengin_kana("ｱﾟ")
