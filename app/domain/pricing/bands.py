"""Graduated (marginal) discount bands, as the road operators compute 車両単位割引.

NEXCO: per card per month, 0% up to 5,000円, 10% over 5,000 to 10,000, 20% over 10,000 to 30,000,
30% over 30,000 (ETC2.0 事業用: 0/20/30/40%). The rates are marginal: 40,000円 → 0 + 500 + 4,000 +
3,000 = 7,500円 (etc-domain.md §1.2). 首都高 and 阪神 use the same shape with their own bands (§1.6).
"""
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal

from .breakdown import Breakdown, percent
from .rounding import FLOOR, round_yen


@dataclass(frozen=True)
class Band:
    up_to: int | None  # inclusive upper edge in yen; None = no limit
    rate: Decimal


def graduated_discount(amount: int, bands: list[Band], rounding: str = FLOOR,
                       explain_zero: bool = True) -> tuple[int, Breakdown | None]:
    """Marginal bands over `amount`; the sum is rounded once (per card), not per band.
    `explain_zero=False`: no breakdown (None) when the discount is 0 (the billing loop prints none then;
    most of a month's cards are below the first band's edge for some rule)."""
    parts = []
    total = Decimal(0)
    lower = 0
    for band in bands:
        if amount <= lower:
            break
        upper = amount if band.up_to is None else min(amount, band.up_to)
        portion = upper - lower
        if portion > 0 and band.rate:
            part = portion * band.rate
            total += part
            parts.append((lower, band, portion, part))
        if band.up_to is None:
            break
        lower = band.up_to
    discount = round_yen(total, rounding) if parts else 0
    if not discount and not explain_zero:
        return 0, None
    breakdown = Breakdown()
    for lower, band, portion, part in parts:
        edge = "" if band.up_to is None else f"{band.up_to:,}"
        breakdown.add(f"{lower + 1:,}〜{edge}円の {portion:,}円 × {percent(band.rate)} = {part:,.2f}円")
    breakdown.add(f"車両単位割引 {discount:,}円（{amount:,}円に対して）")
    return discount, breakdown


def parse_bands(rows) -> list[Band]:
    """[[5000, "0"], [10000, "0.10"], [null, "0.30"]] (YAML) → bands, checked to be increasing."""
    bands = [Band(None if up is None else int(up), Decimal(str(rate))) for up, rate in rows]
    edges = [b.up_to for b in bands if b.up_to is not None]
    if edges != sorted(edges) or len(set(edges)) != len(edges) or any(edge <= 0 for edge in edges):
        raise ValueError("bands の上限額は 0 より大きく、小さい順に並べてください")
    if bands and (bands[-1].up_to is not None or any(b.up_to is None for b in bands[:-1])):
        raise ValueError("bands の最後の段だけを上限なし（null）にしてください")
    if any(not Decimal(0) <= b.rate <= Decimal(1) for b in bands):
        raise ValueError("bands の割引率は 0〜1 の小数です（10% は 0.10）")
    return bands


@lru_cache(maxsize=512)
def _parse_bands_key(key: tuple) -> tuple[Band, ...]:
    return tuple(parse_bands(key))


_BY_IDENTITY: dict[int, tuple[object, tuple[Band, ...]]] = {}


def parse_bands_cached(rows) -> tuple[Band, ...]:
    """parse_bands for the billing loop (one call per card and rule): the same rows are parsed and
    checked once. Band is frozen, so the shared tuple is safe. The rows of a rule are one list object
    for the whole run: found by identity first (the object is kept with its bands, so a later list
    with a recycled id is never mistaken for it), else by value."""
    hit = _BY_IDENTITY.get(id(rows))
    if hit is not None and hit[0] is rows:
        return hit[1]
    bands = _parse_bands_key(tuple((up, str(rate)) for up, rate in rows))
    if len(_BY_IDENTITY) > 512:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[id(rows)] = (rows, bands)
    return bands
