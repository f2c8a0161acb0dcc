"""Kana names: stored as full-width katakana, as 全銀 and NEXCO forms expect them read.

Users type hiragana, half-width katakana or mixed widths; all of it is folded to full-width
katakana. What remains that is not katakana (kanji, Latin letters) is refused, because a kana
name is what the bank matches the account holder against (zengin-format.md §5).
"""
import re

import jaconv

from .errors import DomainError

# Full-width katakana incl. ヴ and small kana, the long-vowel mark, full-width space, and the
# punctuation banks accept in names: （）．－／ and the middle dot.
_KATAKANA_NAME = re.compile(r"^[\u30A1-\u30FA\u30FC\u3000（）．－／・0-9０-９Ａ-Ｚ]+$")


def normalize_kana(value: str, field: str = "kana", label: str = "フリガナ") -> str:
    text = (value or "").strip()
    if not text:
        return ""
    text = jaconv.h2z(text, kana=True, ascii=True, digit=True)  # ｶﾅ → カナ, ABC → ＡＢＣ
    text = jaconv.hira2kata(text)
    text = text.replace("ｰ", "ー").replace("-", "－").replace(" ", "\u3000")
    text = re.sub("\u3000+", "\u3000", text)
    if not _KATAKANA_NAME.match(text):
        bad = "".join(sorted({ch for ch in text if not _KATAKANA_NAME.match(ch)}))
        raise DomainError(f"{label}は全角カタカナで入力してください（使えない文字: {bad}）。", field)
    return text
