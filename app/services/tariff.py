"""料金表 (tariff): the effective-dated rules in the database, and their reviewable YAML file.

`flask etc tariff export FILE` writes every rule version as YAML (the same form as
app/tariffs/default.yaml, described in docs/tariff.md); `flask etc tariff import FILE` checks the whole
file and then replaces all rules in one transaction (nothing changes when any rule is wrong). A month
is always billed with the versions valid in it (`rules_for_month`)."""
import datetime as dt
from pathlib import Path

import yaml
from sqlalchemy import delete, func, select

from app.domain.errors import DomainError
from app.domain.month import Month
from app.domain.tariff import Rule, json_ready, kept_digest, kept_rule_versions, parse_rule, rules_for
from app.extensions import db
from app.models.mixins import now_jst
from app.models.tariff import TariffRule

from .bulk import insert_if_absent
from .unit_of_work import transactional

DEFAULT_TARIFF = Path(__file__).resolve().parent.parent / "tariffs" / "default.yaml"
_FIXED_KEYS = ("id", "type", "label", "valid_from", "valid_to", "scope", "rounding")


class TariffImportRefused(DomainError):
    """Nothing was imported; `errors` names every rule that is wrong."""

    def __init__(self, file_name: str, errors: list[str]):
        self.errors = errors
        super().__init__(f"{file_name}: 料金表に{len(errors)}件の誤りがあるため取り込みませんでした。")


def rule_as_data(row: TariffRule) -> dict:
    """A stored rule in its YAML/JSON form (what parse_rule reads)."""
    data = {"id": row.rule_id, "type": row.type, "label": row.label, "valid_from": row.valid_from}
    if row.valid_to:
        data["valid_to"] = row.valid_to
    data.update(row.params or {})
    if row.scope:
        data["scope"] = dict(row.scope)
    data["rounding"] = row.rounding or "floor"
    return data


def all_rules() -> list[Rule]:
    rows = db.session.scalars(select(TariffRule).order_by(TariffRule.position, TariffRule.rule_id,
                                                          TariffRule.valid_from)).all()
    return [parse_rule(rule_as_data(row), i) for i, row in enumerate(rows)]


def rules_for_month(month: str) -> list[Rule]:
    """The rule versions valid in `month` (YYYY-MM): a past month keeps the rates it had."""
    return rules_for(all_rules(), month)


def keep_rule_versions(rules: list[Rule]) -> int | None:
    """The id of the kept rule versions (KeptRuleVersions) for `rules`, the month's tariff a draft or a
    corrected invoice is computed with: content-addressed by the SHA-256 of its JSON, inserted if absent
    (the unique hash decides, so two writers of the same content agree on one row). None without rules."""
    from app.models.billing import KeptRuleVersions

    versions = kept_rule_versions(rules)
    if not versions:
        return None
    digest = kept_digest(versions)
    table = KeptRuleVersions.__table__
    session = db.session
    session.execute(insert_if_absent(session.connection(), table, ["sha256"], sha256=digest, versions=versions,
                                     created_at=now_jst()))
    return session.scalar(select(table.c.id).where(table.c.sha256 == digest))


def closed_months_using(row: TariffRule) -> list[str]:
    """The closed months (YYYY-MM, oldest first) whose invoices this rule version was valid in."""
    from app.models.billing import CLOSED, BillingRun

    rule = parse_rule(rule_as_data(row))
    months = db.session.scalars(select(BillingRun.month).where(BillingRun.status == CLOSED)
                                .order_by(BillingRun.month)).all()
    return [str(month) for month in months if rule.valid_in(str(month))]


def ensure_rule_deletable(row: TariffRule) -> None:
    """A closed month never changes (architecture.md): the rule versions it was billed with stay."""
    months = closed_months_using(row)
    if months:
        shown = "、".join(Month.of(m).label for m in months[:3]) + ("…" if len(months) > 3 else "")
        raise DomainError(f"この規則（{row.label}、{row.valid_from:%Y/%m/%d}〜）は締め済みの月（{shown}）の請求に"
                          "使われているため削除できません。料率を変えるときは「改定」、使わなくなった規則は有効終了日を入れてください。")


def _closed_rules_dropped(rules: list[Rule]) -> list[str]:
    """Rule versions that closed months were billed with must stay in an imported file: present
    (same id and valid_from) and still valid in those months (a valid_to after them is fine).
    Their parameters may change: that is how a wrong rate is fixed before a corrected invoice."""
    new = {(r.rule_id, r.valid_from): r for r in rules}
    errors = []
    for row in db.session.scalars(select(TariffRule).order_by(TariffRule.position)):
        months = closed_months_using(row)
        if not months:
            continue
        rule = new.get((row.rule_id, row.valid_from))
        if rule is None or not all(rule.valid_in(month) for month in months):
            errors.append(f"規則 {row.rule_id}（{row.valid_from}〜）: 締め済みの月（{months[-1]}）の請求に使われているため、"
                          "消せません（締め済みの月より後の valid_to を入れるのは可）。")
    return errors


def row_of(rule: Rule, position: int) -> TariffRule:
    """A checked rule version as the row that stores it (the import, and the new version of a 改定)."""
    return TariffRule(rule_id=rule.rule_id, type=rule.type, label=rule.label, valid_from=rule.valid_from,
                      valid_to=rule.valid_to, params=json_ready(dict(rule.params)),
                      scope={k: v for k, v in vars(rule.scope).items() if v is not None},
                      rounding=rule.rounding, position=position)


def _rows_of(rules: list[Rule]) -> list[TariffRule]:
    return [row_of(r, i) for i, r in enumerate(rules)]


def check_tariff_data(data, file_name: str = "料金表") -> list[Rule]:
    """Every rule of a parsed YAML document, checked; all errors at once (in Japanese, naming the rule)."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise TariffImportRefused(file_name, ["rules: の下に規則の一覧がありません（docs/tariff.md）。"])
    errors, rules, seen = [], [], {}
    for position, item in enumerate(data["rules"]):
        if not isinstance(item, dict):
            errors.append(f"規則{position + 1}: 「id: …」「type: …」の形で書いてください。")
            continue
        try:
            rule = parse_rule(item, position)
        except DomainError as error:
            errors.append(error.message)
            continue
        key = (rule.rule_id, rule.valid_from)
        if key in seen:
            errors.append(f"規則{position + 1}（{rule.rule_id}）: 規則{seen[key] + 1} と同じ id・valid_from"
                          f"（{rule.valid_from}）です。")
        seen.setdefault(key, position)
        rules.append(rule)
    errors.extend(_overlaps(rules))
    errors.extend(_gaps(rules))
    if errors:
        raise TariffImportRefused(file_name, errors)
    return rules


def _versions_by_id(rules: list[Rule]) -> dict[str, list[Rule]]:
    """Each rule id's versions, oldest first."""
    by_id: dict[str, list[Rule]] = {}
    for rule in rules:
        by_id.setdefault(rule.rule_id, []).append(rule)
    return {rule_id: sorted(versions, key=lambda r: r.valid_from) for rule_id, versions in by_id.items()}


def _overlaps(rules: list[Rule]) -> list[str]:
    """Two versions of one rule id valid in the same month would bill it twice."""
    errors = []
    for rule_id, versions in _versions_by_id(rules).items():
        for earlier, later in zip(versions, versions[1:]):
            if earlier.valid_from == later.valid_from:
                continue  # reported above
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                errors.append(f"規則 {rule_id}: {earlier.valid_from} からの版と {later.valid_from} からの版の期間が"
                              f"重なっています。古い版に valid_to（例 {later.valid_from - dt.timedelta(days=1)}）を入れてください。")
    return errors


def _gaps(rules: list[Rule]) -> list[str]:
    """A rule that exists before and after some months but has no version valid in them would silently
    not be billed there (issue 7 item 9): refused, unless the version before the gap says `ended: true`
    (the rule really stops for those months)."""
    errors = []
    for rule_id, versions in _versions_by_id(rules).items():
        for version in versions:
            if version.params.get("ended") and version.valid_to is None:
                errors.append(f"規則 {rule_id}（{version.label}）: ended: true の版には valid_to（終わる日）を書いてください。")
        for earlier, later in zip(versions, versions[1:]):
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                continue  # overlaps are reported by _overlaps
            months = uncovered_months(earlier.valid_to, later.valid_from)
            if months and not earlier.params.get("ended"):
                span = months[0].label if len(months) == 1 else f"{months[0].label}〜{months[-1].label}"
                errors.append(f"規則 {rule_id}（{earlier.label}）: {span}に有効な版がありません"
                              f"（{earlier.valid_from} からの版が {earlier.valid_to} で終わり、次の版は {later.valid_from} から）。"
                              "間の期間の版を追加するか、その期間は規則を止めるなら前の版に ended: true を書いてください。")
    return errors


def uncovered_months(valid_to: dt.date, next_from: dt.date) -> list[Month]:
    """The months between two versions that neither covers (a version covers a month when it is valid
    on the month's first day: app.domain.tariff.Rule.valid_in)."""
    month = Month.containing(valid_to).next()
    months = []
    while month.first_day < next_from:
        months.append(month)
        month = month.next()
    return months


def rules_ending_without_successor(month) -> list[Rule]:
    """Rules whose last version ends (valid_to) on or before `month`'s last day: from then on nothing of
    theirs is billed. `flask etc bill` names them."""
    last: dict[str, Rule] = {}
    for rule in all_rules():
        if rule.rule_id not in last or rule.valid_from > last[rule.rule_id].valid_from:
            last[rule.rule_id] = rule
    end = Month.of(month).last_day
    return sorted((r for r in last.values() if r.valid_to is not None and r.valid_to <= end),
                  key=lambda r: (r.valid_to, r.rule_id))


class _PlainYamlLoader(yaml.SafeLoader):
    """safe_load without anchors and aliases. A tariff never needs them, and a 3 KB file of nested
    aliases ("billion laughs") expands to tens of megabytes of parameters (issue 8 item 10): the
    first anchor or alias is refused before anything is built."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasRefused(event.start_mark.line + 1)
        return super().compose_node(parent, index)


class _AliasRefused(Exception):
    def __init__(self, line: int):
        self.line = line


def load_tariff_yaml(body: bytes, file_name: str):
    """The parsed YAML document of a tariff file, or TariffImportRefused in Japanese."""
    try:
        return yaml.load(body.decode("utf-8"), Loader=_PlainYamlLoader)  # noqa: S506  (a SafeLoader)
    except _AliasRefused as refused:
        raise TariffImportRefused(file_name, [f"{refused.line}行目: アンカー（&）とエイリアス（*）は使えません。"
                                              "値はそれぞれの規則に書いてください。"]) from None
    except UnicodeDecodeError:
        raise TariffImportRefused(file_name, ["文字コードが UTF-8 ではありません。"]) from None
    except yaml.YAMLError as error:
        raise TariffImportRefused(file_name, [f"YAML として読めません（{error}）。"]) from None


@transactional
def import_tariff(source, file_name: str | None = None) -> str:
    """Replace every rule with the file's, in one transaction, after checking all of them.
    `source` is a path (CLI) or a binary stream (an upload; `file_name` only names it in messages)."""
    from .uploads import limit, read_capped

    if isinstance(source, (str, Path)):
        file_name = file_name or Path(source).name
    file_name = file_name or "料金表"
    try:
        body = read_capped(source, limit("TARIFF_MAX_BYTES"), file_name)
    except DomainError as error:
        raise TariffImportRefused(file_name, [error.message]) from None
    rules = check_tariff_data(load_tariff_yaml(body, file_name), file_name)
    dropped = _closed_rules_dropped(rules)
    if dropped:
        raise TariffImportRefused(file_name, dropped)
    session = db.session
    # ORM deletes and inserts (a few dozen rows): the audit log records every rule removed and added.
    for row in session.scalars(select(TariffRule)):
        session.delete(row)
    session.flush()
    session.add_all(_rows_of(rules))
    ids = len({r.rule_id for r in rules})
    return f"{file_name}: 料金表を取り込みました（規則 {ids}件, 版 {len(rules)}件）。"


def export_tariff(path: str | Path) -> str:
    rows = db.session.scalars(select(TariffRule).order_by(TariffRule.position, TariffRule.rule_id,
                                                          TariffRule.valid_from)).all()
    rules = [rule_as_data(row) for row in rows]
    header = ("# Tollbook 料金表（flask etc tariff export で書き出し）。書式は docs/tariff.md。\n"
              "# 直したら flask etc tariff import で取り込みます（全規則を確認してから一度に置き換えます）。\n"
              "# 料率の改定は規則を書き換えず、古い版に valid_to を入れて同じ id の新しい版を追加してください。\n")
    body = yaml.safe_dump({"rules": rules}, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)
    Path(path).write_text(header + body, encoding="utf-8")
    return f"料金表を書き出しました: {path}（版 {len(rules)}件）"


def ensure_default_tariff() -> bool:
    """First run: load app/tariffs/default.yaml when there are no rules yet. True when loaded."""
    if db.session.scalar(select(func.count()).select_from(TariffRule)):
        return False
    if not DEFAULT_TARIFF.exists():
        return False
    rules = check_tariff_data(yaml.safe_load(DEFAULT_TARIFF.read_text(encoding="utf-8")), DEFAULT_TARIFF.name)
    db.session.execute(delete(TariffRule))
    db.session.add_all(_rows_of(rules))
    db.session.commit()
    return True
