"""NEXCO 契約単位割引: 10% of the contract holder's monthly 高速国道 total when that total exceeds
5,000,000円 AND the average per vehicle exceeds 30,000円 (5% on 割引対象一般有料道路), etc-domain.md §1.3.
For a cooperative the cooperative is the contract holder: this is the operator's discount, passed
on only as the operator's tariff says."""
from decimal import Decimal

from .breakdown import Breakdown, percent
from .rounding import FLOOR, round_yen


def contract_discount(total: int, vehicles: int, threshold_total: int, threshold_average: int, rate: Decimal,
                      rounding: str = FLOOR) -> tuple[int, Breakdown]:
    breakdown = Breakdown()
    average = Decimal(total) / vehicles if vehicles else Decimal(0)
    if total <= threshold_total or average <= threshold_average:
        breakdown.add(f"契約単位割引なし（合計 {total:,}円, 1台平均 {average:,.0f}円: "
                      f"{threshold_total:,}円超 かつ {threshold_average:,}円超 が条件）")
        return 0, breakdown
    discount = round_yen(Decimal(total) * rate, rounding)
    breakdown.add(f"契約単位割引 {total:,}円 × {percent(rate)} = {discount:,}円")
    return discount, breakdown
