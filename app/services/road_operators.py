"""道路事業者: where a usage row's road operator comes from when its file does not say (issue 7 item 1).

ETC利用照会 CSV has no 道路事業者 column, and a rule such as NEXCO 車両単位割引 needs the operator. A
row without one takes it from the IC master: the exit IC's operator, else the entry IC's, both names
compared after app.domain.ic_name.normalize_ic_name (the master stores names in that form; rows keep
the file's text). At import (usage_import) and again here whenever the master changes: rows of open
months only (a closed month never changes), rows whose operator came from the file or from staff are
never overwritten (road_operator_source 'file' / 'staff'); rows that took it from the master ('ic')
follow a corrected master.

Set-based: the distinct IC names of the rows concerned are few (hundreds), so they are normalised in
Python into a small mapping table (a temporary table of the transaction), and two UPDATEs (exit IC,
then entry IC) join the month's rows to it. Staff name an unknown IC's operator once on the screen
道路事業者不明: it is saved to the master and the rows are resolved (source 'staff').
"""
from dataclasses import dataclass

from sqlalchemy import Column, MetaData, String, Table, func, or_, select, update

from app.domain.errors import DomainError
from app.domain.ic_name import normalize_ic_name
from app.extensions import db
from app.models.usage import (BATCH_ACTIVE, OPERATOR_FROM_IC, OPERATOR_FROM_STAFF, IcMaster, ImportBatch,
                              UsageRecord)

from .ic_master import REGIONS
from .unit_of_work import transactional
from .usage_rematch import open_months

_USAGE = UsageRecord.__table__


def _unknown(usage=_USAGE):
    return func.coalesce(usage.c.road_operator, "") == ""


class IcOperators:
    """IC name as a file writes it → the master's operator (None when the master does not know it).
    Used row by row at import: one dict lookup per IC name seen, the normalisation cached."""

    def __init__(self, session):
        self.by_name = {name: operator for name, operator in session.execute(
            select(IcMaster.name, IcMaster.road_operator).where(func.coalesce(IcMaster.road_operator, "") != ""))}
        self._raw: dict[str | None, str | None] = {None: None}

    def of(self, raw_name: str | None) -> str | None:
        try:
            return self._raw[raw_name]
        except KeyError:
            operator = self._raw[raw_name] = self.by_name.get(normalize_ic_name(raw_name))
            return operator

    def for_row(self, exit_ic: str | None, entry_ic: str | None) -> str | None:
        """The exit IC's operator, else the entry IC's."""
        return self.of(exit_ic) or self.of(entry_ic)


def _months(months) -> list[str]:
    allowed = open_months()
    return [m for m in allowed if months is None or m in {str(x) for x in months}]


def _live_rows(months):
    return (_USAGE.c.usage_month.in_(months),
            _USAGE.c.batch_id.in_(select(ImportBatch.id).where(ImportBatch.status == BATCH_ACTIVE)))


def _apply(session, months: list[str], mapping: dict[str, str], source: str, followers) -> int:
    """Set road_operator from `mapping` (IC name as written → operator) on the rows of `months` matched by
    `followers` (which rows may change), exit IC first, then entry IC. Returns the rows changed."""
    if not mapping:
        return 0
    table = Table(f"tmp_ic_operator_{id(mapping)}", MetaData(), Column("raw", String(60), primary_key=True),
                  Column("operator", String(40), nullable=False), prefixes=["TEMPORARY"])
    connection = session.connection()
    table.create(connection)
    try:
        connection.execute(table.insert(), [{"raw": raw, "operator": op} for raw, op in mapping.items()])
        changed = 0
        for ic, not_exit in ((_USAGE.c.exit_ic, None), (_USAGE.c.entry_ic, _USAGE.c.exit_ic)):
            operator = select(table.c.operator).where(table.c.raw == ic).scalar_subquery()
            where = [*_live_rows(months), followers, ic.in_(select(table.c.raw)),
                     _USAGE.c.road_operator.is_distinct_from(operator)]
            if not_exit is not None:  # the entry IC only decides when the exit IC does not
                where.append(or_(not_exit.is_(None), not_exit.not_in(select(table.c.raw))))
            changed += connection.execute(update(_USAGE).where(*where).values(
                road_operator=operator, road_operator_source=source)).rowcount or 0
        return changed
    finally:
        table.drop(connection)


def _ic_names(session, months, followers) -> set[str]:
    names = set()
    for column in (_USAGE.c.exit_ic, _USAGE.c.entry_ic):
        names.update(session.scalars(select(column).distinct().where(*_live_rows(months), followers,
                                                                     column.is_not(None))))
    return names


@transactional
def resolve_road_operators(months=None) -> int:
    """Re-resolve the rows of open months (of `months`, when given) from the IC master: rows without an
    operator, and rows whose operator came from the master. Returns how many rows got a (new) operator."""
    months = _months(months)
    if not months:
        return 0
    session = db.session
    followers = or_(_unknown(), _USAGE.c.road_operator_source == OPERATOR_FROM_IC)
    operators = IcOperators(session)
    mapping = {raw: op for raw in _ic_names(session, months, followers) if (op := operators.of(raw))}
    return _apply(session, months, mapping, OPERATOR_FROM_IC, followers)


@dataclass
class UnknownIc:
    name: str  # normalised, as the master stores it
    written: list[str]  # as the files wrote it
    rows: int
    amount: int
    months: list[str]


def unknown_operator_ics(months=None) -> list[UnknownIc]:
    """Rows of open months still without an operator, grouped by IC name (exit IC, else entry IC),
    most rows first."""
    months = _months(months)
    if not months:
        return []
    key = func.coalesce(_USAGE.c.exit_ic, _USAGE.c.entry_ic)
    groups: dict[str, UnknownIc] = {}
    for raw, month, rows, amount in db.session.execute(
            select(key, _USAGE.c.usage_month, func.count(), func.coalesce(func.sum(_USAGE.c.amount_billed), 0))
            .where(*_live_rows(months), _unknown()).group_by(key, _USAGE.c.usage_month)):
        name = normalize_ic_name(raw) or "（IC名なし）"
        group = groups.setdefault(name, UnknownIc(name, [], 0, 0, []))
        if raw and raw not in group.written:
            group.written.append(raw)
        if month not in group.months:
            group.months.append(month)
        group.rows += rows
        group.amount += int(amount)
    return sorted(groups.values(), key=lambda g: (-g.rows, g.name))


@transactional
def set_ic_operator(ic_name: str, road_operator: str, region: str | None = None) -> int:
    """Staff name an unknown IC's operator (and 地域区分) once: saved to the IC master (the IC added when
    missing), the open months' rows without an operator whose IC it is get it (source 'staff'), and any
    other row the master now resolves is resolved. Returns the rows given an operator."""
    name = normalize_ic_name(ic_name)
    operator = (road_operator or "").strip()
    if not name:
        raise DomainError("IC名を指定してください。", "ic_name")
    if not operator:
        raise DomainError("道路事業者を入力してください。", "road_operator")
    region = region or ""
    if region not in REGIONS:
        raise DomainError(f"地域区分「{region}」は 地方部 か 大都市近郊 です。", "region")
    session = db.session
    ics = session.scalars(select(IcMaster).where(IcMaster.name == name)).all()
    if not ics:
        ics = [IcMaster(name=name)]
        session.add(ics[0])
    for ic in ics:
        ic.road_operator = operator
        if REGIONS[region]:
            ic.region = REGIONS[region]
    session.flush()
    months = _months(None)
    if not months:
        return 0
    unknown = _unknown()
    written = {raw for raw in _ic_names(session, months, unknown) if normalize_ic_name(raw) == name}
    changed = _apply(session, months, dict.fromkeys(written, operator), OPERATOR_FROM_STAFF, unknown)
    return changed + resolve_road_operators()

