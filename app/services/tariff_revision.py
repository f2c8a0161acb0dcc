"""料金表の改定 (issue 9 item 16): a rule's new values from a start date, the old version ending the day
before, and the preview of what that does to the open month's invoices.

The preview runs the billing engine itself (billing.inputs.gather and the draft's own compute_invoices) twice
over the month: once with the stored tariff and once with the revised one, held in memory only. Nothing
is written, so the numbers are those a draft computed after saving the revision would show, without a
draft being touched."""
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.domain.month import Month
from app.domain.tariff import Rule, parse_rule, revised, rules_for
from app.extensions import db
from app.models.billing import CLOSED, BillingRun
from app.models.tariff import TariffRule

from .month_lock import lock_month
from .tariff import all_rules, row_of, rule_as_data
from .unit_of_work import transactional


@dataclass(frozen=True)
class Revision:
    """What the clerk asked for: the new values from `starts`."""

    starts: dt.date
    label: str
    params: dict
    scope: dict
    rounding: str


@dataclass(frozen=True)
class PreviewRow:
    member_code: str
    member_name: str
    before: int
    after: int

    @property
    def difference(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class RevisionPreview:
    month: Month
    applies: bool  # the new version is valid in the month (else the month's totals cannot change)
    old: Rule  # the current version as it will be (ending the day before)
    new: Rule
    rows: list[PreviewRow]

    @property
    def before_total(self) -> int:
        return sum(row.before for row in self.rows)

    @property
    def after_total(self) -> int:
        return sum(row.after for row in self.rows)

    @property
    def changed(self) -> int:
        return sum(1 for row in self.rows if row.difference)


def _stored(row_id, lock: bool = False) -> TariffRule:
    """The stored version; `lock`: locked and read afresh, so that a second revision of the same version
    waits for the first and then finds the newer version (and is refused)."""
    row = db.session.get(TariffRule, int(row_id), with_for_update=lock, populate_existing=lock)
    if row is None:
        raise DomainError("この規則は見つかりません（削除された可能性があります）。")
    return row


def revision_of(row: TariffRule, revision: Revision) -> tuple[Rule, Rule]:
    """(the old version ended, the new version), both checked: the new values as every rule is checked
    (parse_rule), a newest version only, and never reaching into a closed month (its invoices were billed
    with the old version and stay so)."""
    old = parse_rule(rule_as_data(row))
    later = [parse_rule(rule_as_data(r)) for r in db.session.scalars(
        select(TariffRule).where(TariffRule.rule_id == row.rule_id, TariffRule.valid_from > row.valid_from)
        .order_by(TariffRule.valid_from))]
    data = {"id": row.rule_id, "type": row.type, "label": revision.label, "valid_from": revision.starts,
            **revision.params, "scope": revision.scope, "rounding": revision.rounding}
    checked = parse_rule(data)
    ended, new = revised(old, revision.starts, checked.params, checked.label, checked.scope, checked.rounding, later)
    closed = sorted(str(m) for m in db.session.scalars(select(BillingRun.month).where(BillingRun.status == CLOSED)))
    reached = [month for month in closed if new.valid_in(month)]
    if reached:
        raise DomainError(f"改定日が締め済みの月（{Month.of(reached[-1]).label}）にかかっています。"
                          f"{Month.of(reached[-1]).next().label}1日以降の日にしてください。", "valid_from")
    return ended, new


def member_totals(month: str, rules: list[Rule]) -> dict[int, tuple[str, str, int]]:
    """member id → (code, name, 請求金額) as the draft computes the month with `rules` (nothing written)."""
    from .billing.draft import compute_invoices
    from .billing.inputs import gather

    inputs = gather(month, rules=rules)
    results, _ = compute_invoices(inputs)
    return {member_id: (inputs.info[member_id].code, inputs.info[member_id].name, result.totals()["total"])
            for member_id, result in results}


def preview_revision(row_id, revision: Revision, month=None) -> RevisionPreview:
    """Each member's total of `month` (default: the month being worked on) before and after the revision."""
    from .month_checklist import working_month

    row = _stored(row_id)
    ended, new = revision_of(row, revision)
    month = Month.of(month or working_month(today_jst()))
    stored = all_rules()
    revised_tariff = [r for r in stored if (r.rule_id, r.valid_from) != (row.rule_id, row.valid_from)] + [ended, new]
    applies = new.valid_in(str(month))
    before = member_totals(str(month), rules_for(stored, str(month)))
    # a new version that starts after the month leaves the month's rules as they are (the old version still
    # covers it with the same values): the engine is not run a second time for the same totals
    after = member_totals(str(month), rules_for(revised_tariff, str(month))) if applies else before
    rows = []
    for member_id in sorted(set(before) | set(after), key=lambda m: (before.get(m) or after.get(m))[0]):
        code, name, _ = before.get(member_id) or after[member_id]
        rows.append(PreviewRow(code, name, before.get(member_id, (0, 0, 0))[2], after.get(member_id, (0, 0, 0))[2]))
    return RevisionPreview(month, applies, ended, new, rows)


@transactional
def revise_rule(row_id, revision: Revision) -> TariffRule:
    """改定: the old version ends the day before `revision.starts`; the new version is added. One
    transaction (the audit log records both changes). The revision's first month is locked first
    (app/services/month_lock.py), so a close of that month cannot pass between the check and the write."""
    lock_month(Month.containing(revision.starts))
    row = _stored(row_id, lock=True)
    ended, new = revision_of(row, revision)
    row.valid_to = ended.valid_to
    added = row_of(new, row.position)
    db.session.add(added)
    db.session.flush()
    return added


def versions_of(row: TariffRule) -> list[TariffRule]:
    """Every version of the row's rule, newest first."""
    return list(db.session.scalars(select(TariffRule).where(TariffRule.rule_id == row.rule_id)
                                   .order_by(TariffRule.valid_from.desc())))
