"""What a clerk types into a search box, and the forms the same text is stored in.

Kana is stored as full-width katakana (app.domain.kana), names may hold katakana, hiragana or
half-width kana as the member wrote them, and card numbers are stored as 16 digits but printed with
hyphens: a search for やま must find ヤマ and ﾔﾏ, and 901121-0000-0001 must find 9011210000000001."""
import jaconv

from .text import to_half_width_digits


def text_variants(text: str) -> list[str]:
    """The typed text and its kana forms: as typed, full-width katakana, hiragana (distinct, in that order)."""
    typed = (text or "").strip()
    if not typed:
        return []
    full = jaconv.h2z(typed, kana=True, ascii=False, digit=False)  # ﾔﾏ → ヤマ (Latin and digits stay)
    variants = [typed, jaconv.hira2kata(full), jaconv.kata2hira(full)]
    return list(dict.fromkeys(variants))


def digits_of(text: str) -> str:
    """The digits of a number as printed (hyphens, spaces, full-width digits): '９０１１-21' → '901121'."""
    return "".join(ch for ch in to_half_width_digits(text or "") if ch.isdigit())


def tokens(text: str) -> list[str]:
    """Words of a search box (half- or full-width spaces): every word must match somewhere."""
    return (text or "").replace("\u3000", " ").split()
