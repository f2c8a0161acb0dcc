"""Width normalisation shared by every validator: users type full-width digits and hyphens."""
import unicodedata

_DASHES = "-‐‑‒–—―−ー－ｰ"


def to_half_width_digits(value: str) -> str:
    """'１２３４－５６' → '1234-56'. NFKC folds full-width digits and letters only."""
    return unicodedata.normalize("NFKC", value or "").strip()


def digits_only(value: str) -> str:
    """Drop the spaces and hyphens people put between digit groups (card and account numbers)."""
    text = to_half_width_digits(value)
    for ch in _DASHES + " \u3000":
        text = text.replace(ch, "")
    return text


def number_text(value) -> str:
    """A typed number as Python reads it: '－１，０００円' → '-1000', '９．８％' → '9.8%'. NFKC folds full-width
    digits, ．，％ and －; thousands separators, 円 and spaces go; the minus sign (U+2212) and the long vowel ー,
    which people type for a minus on a Japanese keyboard, become '-'. Whether the result is a valid number is
    the caller's check (an integer yen, a Decimal rate, …)."""
    text = unicodedata.normalize("NFKC", str(value if value is not None else ""))
    for ch in ", \u3000円":
        text = text.replace(ch, "")
    for ch in "−ー":
        text = text.replace(ch, "-")
    return text.strip()
