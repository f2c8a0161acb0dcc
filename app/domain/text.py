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
