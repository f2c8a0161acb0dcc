"""non_taxable_usage — 不課税 amounts inside the usage data: 関空橋税 (空港連絡橋利用税, a municipal tax
of 泉佐野市 collected with the toll at the 関西国際空港 toll gate, 100円 per round trip; etc-domain.md
§7.1; https://www.city.izumisano.lg.jp/kakuka/somu/zeimu/faq/1355904693150.html) is not a toll.

How a row is recognised is data (`match`, any of):
- `ic`: entry or exit IC names, exactly as stored after import;
- `road_operator`: prefixes of the row's road operator;
- `remarks`: words contained in the row's 備考 (a profile that has a column for the tax maps it to
  備考, or the operator's own marker).
`amount_per_row`: the 不課税 part of each matched row (100 when the toll gate row holds toll + tax);
without it the whole row is 不課税 (files that give the tax as a row of its own).

The 不課税 part leaves the card's tolls: it is a line of its own in the 不課税 section (no
consumption tax), and it is in no discount base and no % fee base."""
from ..card_number import format_card_number
from ..errors import DomainError
from .breakdown import NON_TAXABLE, Charge
from .rule_type import InvoiceDraft, RuleType, check_yen

MATCH_KEYS = {"ic": "IC名（入口・出口）", "road_operator": "道路事業者（前方一致）", "remarks": "備考に含まれる語"}


class NonTaxableUsage(RuleType):
    name = "non_taxable_usage"
    title = "不課税の利用（関空橋税など）"
    required = ("match",)
    optional = ("amount_per_row",)
    order = 10

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        match = params["match"]
        if not isinstance(match, dict) or not match:
            raise DomainError(f"{where}: match には {', '.join(MATCH_KEYS)} のどれかを書いてください。")
        unknown = sorted(set(match) - set(MATCH_KEYS))
        if unknown:
            raise DomainError(f"{where}: match の「{'、'.join(unknown)}」は使えません（{', '.join(MATCH_KEYS)}）。")
        for key, values in match.items():
            if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
                raise DomainError(f"{where}: match の {key} は文字の一覧です（例 {key}: [関西空港]）。")
        if "amount_per_row" in params:
            check_yen(params, "amount_per_row", where)

    def __init__(self, rule):
        super().__init__(rule)
        match = rule.params["match"]
        self.ic_names = frozenset(match.get("ic") or ())
        self._operators = tuple(match.get("road_operator") or ())
        self._words = tuple(match.get("remarks") or ())

    def matches(self, row) -> bool:
        """`row`: a UsageGroup (discount_base.py). IC names are only known for rows gathered one by one."""
        if self.ic_names and (row.entry_ic in self.ic_names or row.exit_ic in self.ic_names):
            return True
        if self._operators and (row.road_operator or "").startswith(self._operators):
            return True
        if self._words and row.remarks:
            return any(word in row.remarks for word in self._words)
        return False

    def part_of(self, row) -> int:
        """The 不課税 yen of a matched row (or group of identical rows)."""
        per_row = self.rule.params.get("amount_per_row")
        if per_row is None:
            return max(0, row.amount_billed)
        return max(0, min(row.amount_billed, per_row * row.rows))

    def apply(self, invoice: InvoiceDraft) -> None:
        for item in sorted(invoice.member.non_taxable, key=lambda n: (n.card_number, n.card_id)):
            if item.rule_id != self.rule.rule_id or not item.amount:
                continue
            invoice.add(Charge(f"{self.rule.label} {format_card_number(item.card_number)}", item.amount, NON_TAXABLE,
                               self.rule.rule_id, item.card_id, "non_taxable"),
                        f"不課税 {item.rows:,}件 {item.amount:,}円（消費税の対象外・割引や手数料の対象外）")
