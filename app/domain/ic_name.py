"""IC names (インターチェンジ・料金所・出入口) as Tollbook compares them: one canonical form.

The same place is written differently by each file and by staff: full-width letters (「吹田ＪＣＴ」),
half-width katakana, spaces, and an optional 「IC」/「ＩＣ」 after the name (「東京IC」 in one file,
「東京」 in ETC利用照会's 利用ＩＣ column). Matching usage rows to the IC master only works when both
sides go through this one function. Variant kanji (髙/高, 﨑/崎) are NOT folded: they are different
characters in the operators' own lists, and guessing would merge names that the operators keep apart.
"""
import re
import unicodedata

_SPACES = re.compile(r"[\s\u3000]+")
_TRAILING_IC = re.compile(r"(?<=.)IC$")


def normalize_ic_name(text: str | None) -> str | None:
    """'　東京ＩＣ ' → '東京'; '吹田ＪＣＴ' → '吹田JCT'; 'ｽﾏｰﾄ' → 'スマート'; '' → None.

    NFKC folds full-width letters and digits to ASCII and half-width katakana to full width; spaces
    are dropped (operators' lists differ in where they put them); a trailing 'IC' is dropped unless it
    is the whole name."""
    if text is None:
        return None
    value = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    value = _TRAILING_IC.sub("", value)
    return value or None
