"""料金表 (tariff): the operator's pricing rules as effective-dated data.

A tariff is a list of rules; each rule has a type (one pricing model in app/domain/pricing/), the
months it is valid for, its parameters and a scope (which members or cards it applies to). A past
month is always billed with the rules valid in that month: `rules_for(month)`. The YAML form is
documented in docs/tariff.md.
"""
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .errors import DomainError
from .pricing.rounding import ROUNDING_NAMES
from .pricing.rule_type import parse_date, rule_types

# type → Japanese name, in calculation order; each type is one class in app/domain/pricing/.
RULE_TYPES = {name: kind.title for name, kind in rule_types().items()}
SCOPE_KEYS = {"member_group": "組合員グループ", "member_code": "組合員コード", "card_kind": "カード種別",
              "agency_code": "代理店コード"}


@dataclass(frozen=True)
class Scope:
    member_group: str | None = None
    member_code: str | None = None
    card_kind: str | None = None
    agency_code: str | None = None

    def matches_member(self, member_code: str, member_group: str | None, agency_code: str | None) -> bool:
        return ((self.member_code is None or self.member_code == member_code)
                and (self.member_group is None or self.member_group == member_group)
                and (self.agency_code is None or self.agency_code == agency_code))

    def matches_card(self, card_kind: str) -> bool:
        return self.card_kind is None or self.card_kind == card_kind

    def describe(self) -> str:
        parts = [f"{SCOPE_KEYS[k]}={v}" for k, v in vars(self).items() if v is not None]
        return "、".join(parts) or "全組合員"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    type: str
    label: str
    valid_from: dt.date
    valid_to: dt.date | None
    params: dict = field(hash=False, compare=False)
    scope: Scope = Scope()
    rounding: str = "floor"

    def valid_in(self, month: str) -> bool:
        first = dt.date(int(month[:4]), int(month[5:7]), 1)
        return self.valid_from <= first and (self.valid_to is None or first <= self.valid_to)

    def decimal(self, key: str) -> Decimal:
        return Decimal(str(self.params[key]))


def parse_rule(data: dict, position: int = 0) -> Rule:
    """One rule from its YAML/JSON form, checked; errors name the rule and the field in Japanese."""
    if not isinstance(data, dict):
        raise DomainError(f"規則{position + 1}: 「id: …」「type: …」の形で書いてください。")
    where = f"規則{position + 1}（{data.get('id') or '無名'}）"
    rule_id = str(data.get("id") or "").strip()
    if not rule_id:
        raise DomainError(f"{where}: id がありません。")
    rule_type = data.get("type")
    if rule_type not in RULE_TYPES:
        raise DomainError(f"{where}: type「{rule_type}」は {', '.join(RULE_TYPES)} のいずれかです。")
    params = {k: v for k, v in data.items() if k not in ("id", "type", "label", "valid_from", "valid_to", "scope",
                                                        "rounding")}
    scope_data = data.get("scope") or {}
    unknown = set(scope_data) - set(SCOPE_KEYS)
    if unknown:
        raise DomainError(f"{where}: scope の「{'、'.join(sorted(unknown))}」は使えません（{', '.join(SCOPE_KEYS)}）。")
    rounding = data.get("rounding") or "floor"
    if rounding not in ROUNDING_NAMES:
        raise DomainError(f"{where}: rounding は floor（切り捨て）, half_up（四捨五入）, ceiling（切り上げ）のいずれかです。")
    valid_from = parse_date(data.get("valid_from"), where) or dt.date(2000, 1, 1)
    valid_to = parse_date(data.get("valid_to"), where)
    if valid_to and valid_to < valid_from:
        raise DomainError(f"{where}: valid_to が valid_from より前です。")
    rule = Rule(rule_id, rule_type, str(data.get("label") or RULE_TYPES[rule_type]), valid_from, valid_to, params,
                Scope(**{k: (str(v) if v is not None else None) for k, v in scope_data.items()}), rounding)
    _check_params(rule, where)
    return rule


def _check_params(rule: Rule, where: str) -> None:
    """The rule type's own check (pricing/<type>.py); any malformed value becomes a Japanese error."""
    try:
        rule_types()[rule.type].check(rule.params, where)
    except InvalidOperation:
        raise DomainError(f"{where}: 率は小数で書いてください（10% は 0.10、8% は 0.08）。") from None
    except (ValueError, TypeError) as error:
        if isinstance(error, DomainError):
            raise
        raise DomainError(f"{where}: 値が正しくありません（{error}）。") from None


def parse_tariff(data: dict) -> list[Rule]:
    rules = [parse_rule(item, i) for i, item in enumerate((data or {}).get("rules") or [])]
    seen = set()
    for rule in rules:
        key = (rule.rule_id, rule.valid_from)
        if key in seen:
            raise DomainError(f"規則 {rule.rule_id} が同じ valid_from（{rule.valid_from}）で2回あります。")
        seen.add(key)
    by_id: dict[str, list[Rule]] = {}
    for rule in rules:
        by_id.setdefault(rule.rule_id, []).append(rule)
    for rule_id, versions in by_id.items():
        versions = sorted(versions, key=lambda r: r.valid_from)
        for earlier, later in zip(versions, versions[1:]):
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                # Two versions valid on the same day would both be applied by rules_for.
                raise DomainError(f"規則 {rule_id} の期間が重なっています（{earlier.valid_from}〜"
                                  f"{earlier.valid_to or ''} と {later.valid_from}〜）。古い版に valid_to を"
                                  f"入れてください。")
    return rules


def rules_for(rules: list[Rule], month: str) -> list[Rule]:
    """The rules valid in `month`: for each id, the version whose period contains the month."""
    return sorted((r for r in rules if r.valid_in(month)), key=lambda r: (r.type, r.rule_id))


def json_ready(value):
    """A parameter value as JSON keeps it (dates as YYYY-MM-DD, decimals as text: no float rounding)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def kept_rule_versions(rules: list[Rule]) -> list[dict]:
    """The rule versions a month's invoices are computed with, as they are kept (issue 8 item 15): a
    rule may be corrected after its month closed, and the closed invoice must still say which
    parameters, rounding and version (valid_from) it was billed with. Kept once per draft (the
    kept_rule_versions table, content-addressed), not once per line; each line finds its own by its
    rule id (kept_for_line)."""
    return [{"id": rule.rule_id, "label": rule.label, "type": rule.type, "valid_from": str(rule.valid_from),
             "valid_to": str(rule.valid_to) if rule.valid_to else None, "params": json_ready(dict(rule.params)),
             "rounding": rule.rounding}
            for rule in rules]


def kept_digest(versions: list[dict]) -> str:
    """The SHA-256 that names kept rule versions: of their JSON with sorted keys, no spaces, UTF-8."""
    text = json.dumps(versions, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def kept_for_line(rule_id: str | None, kept: list[dict] | None) -> list[dict] | None:
    """The kept rule versions (kept_rule_versions) a line with `rule_id` was computed with: a line made
    of two rules ('ruleA+ruleB', member_discount.py) has both; a line without a rule (usage, adjustment,
    carried credit) has none."""
    if not rule_id or not kept:
        return None
    by_id = {version["id"]: version for version in kept}
    found = [by_id[part] for part in rule_id.split("+") if part in by_id]
    return found or None


def line_rule_params(rule_id: str | None, rules: list[Rule]) -> list[dict] | None:
    """The rule versions an invoice line with `rule_id` was computed with, from the month's `rules`."""
    return kept_for_line(rule_id, kept_rule_versions(rules))


# Japanese names of the tariff's parameter keys, for screens that show a kept rule version (a clerk
# reads 率 0.02, not rate=0.02). Keys are those of the rule types' `required` / `optional`.
PARAMETER_TITLES = {
    "amount": "金額", "amount_per_row": "1件あたりの金額", "bands": "段階", "event": "異動の種類",
    "etc2_commercial_bands": "ETC2.0事業用の段階", "etc2_valid_to": "ETC2.0事業用の適用終了日", "match": "対象の見分け方",
    "method": "方式", "month": "請求月", "rate": "率", "ratio": "還元率", "road_category": "道路区分",
    "road_operator": "道路事業者", "threshold_average": "1台あたり平均の基準額", "threshold_total": "合計の基準額",
    "tiers": "段階", "ended": "終了",
}


def describe_kept_rule(kept: dict) -> str:
    """One kept rule version (kept_for_line) as a clerk reads it: label, period, parameters in
    Japanese and the rounding."""
    def value(key, raw):
        if key.startswith("amount") and isinstance(raw, int):
            return f"{raw:,}円"
        return str(raw)

    period = f"{kept['valid_from'].replace('-', '/')}〜{(kept.get('valid_to') or '').replace('-', '/')}"
    params = "、".join(f"{PARAMETER_TITLES.get(key, key)} {value(key, raw)}" for key, raw in kept["params"].items())
    rounding = ROUNDING_NAMES.get(kept.get("rounding"), kept.get("rounding") or "")
    return f"{kept['label']}（{period}）: {params}・端数{rounding}"


def revised(old: Rule, starts: dt.date, params: dict, label: str, scope: Scope, rounding: str,
            later: list[Rule] = ()) -> tuple[Rule, Rule]:
    """改定 (issue 9 item 16): the version `old` ends the day before `starts` and a new version of the same
    rule starts that day with the new values (and keeps the old version's end, if it had one). `later`: the
    rule's versions after `old`; a revision is made on the newest version, so that no third version is
    overlapped. Errors are Japanese and name the field (DomainError.field)."""
    if later:
        raise DomainError(f"この規則には {later[0].valid_from:%Y/%m/%d} からの新しい版があります。最新の版を改定してください。",
                          "valid_from")
    if starts <= old.valid_from:
        raise DomainError(f"改定日は今の版の有効開始日（{old.valid_from:%Y/%m/%d}）より後の日にしてください。", "valid_from")
    if old.valid_to is not None and starts > old.valid_to:
        raise DomainError(f"今の版は {old.valid_to:%Y/%m/%d} で終わっています。改定日はそれまでの日にしてください。",
                          "valid_from")
    ended = Rule(old.rule_id, old.type, old.label, old.valid_from, starts - dt.timedelta(days=1), old.params,
                 old.scope, old.rounding)
    new = Rule(old.rule_id, old.type, label or old.label, starts, old.valid_to, params, scope, rounding)
    return ended, new
