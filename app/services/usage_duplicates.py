"""重複の疑い: the same trip delivered in two files (issue 7 item 2).

A row is a suspected duplicate when its card number, exit date-time, exit IC and 通行料金 equal those
of a row of ANOTHER live batch (rows repeated inside one file are separate trips the operator
reported). The later delivery is flagged FLAG_SUSPECTED_DUPLICATE and not billed (NOT_BILLED_FLAGS);
staff confirm a genuine separate trip on the screen 重複の疑い (services/usage_review.py), which sets
FLAG_CONFIRMED, and a confirmed row is never flagged again.

Set-based: one UPDATE … WHERE EXISTS per import, the EXISTS probing ix_usage_trip (card_number,
exit_at), and only against the live batches whose exit span overlaps the new one's (import_batch
first_exit_at / last_exit_at), so a month's first file costs one small query. No per-row lookups.
"""
from sqlalchemy import and_, exists, func, literal, or_, select, update

from app.models.usage import (BATCH_ACTIVE, FLAG_CONFIRMED, FLAG_OFF_MONTH, FLAG_SUSPECTED_DUPLICATE,
                              FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS, ImportBatch, UsageRecord)

from .usage_rematch import flag_values

_USAGE = UsageRecord.__table__
_OTHER_FLAGS = FLAG_UNREGISTERED_CARD | FLAG_USED_AFTER_LOSS | FLAG_OFF_MONTH


def _same_trip(twin):
    """The duplicate rule, as SQL between the row being checked (usage_record) and `twin`."""
    return and_(twin.c.card_number == _USAGE.c.card_number, twin.c.exit_at == _USAGE.c.exit_at,
                twin.c.exit_ic.is_not_distinct_from(_USAGE.c.exit_ic),
                twin.c.amount_billed == _USAGE.c.amount_billed)


def flag_suspected_duplicates(session, batch: ImportBatch) -> tuple[int, int]:
    """Flag the rows of `batch` (not yet committed) that repeat a trip of another live batch.
    Returns (rows flagged 重複の疑い, of which had no other flag: they add to the batch's 要確認)."""
    overlapping = session.scalars(select(ImportBatch.id).where(
        ImportBatch.status == BATCH_ACTIVE, ImportBatch.id != batch.id,
        or_(ImportBatch.first_exit_at.is_(None), ImportBatch.last_exit_at.is_(None),
            and_(ImportBatch.first_exit_at <= batch.last_exit_at,
                 ImportBatch.last_exit_at >= batch.first_exit_at)))).all()
    if not overlapping:
        return 0, 0
    twin = _USAGE.alias("twin")
    result = session.execute(
        update(_USAGE).where(
            _USAGE.c.batch_id == batch.id,
            _USAGE.c.flags.op("&")(FLAG_CONFIRMED) == 0,
            exists(select(literal(1)).select_from(twin).where(_same_trip(twin), twin.c.batch_id.in_(overlapping))))
        .values(flags=_USAGE.c.flags.op("|")(FLAG_SUSPECTED_DUPLICATE)))
    flagged = result.rowcount or 0
    if not flagged:
        return 0, 0
    also_other = [v for v in flag_values(FLAG_SUSPECTED_DUPLICATE) if v & _OTHER_FLAGS]
    already = session.scalar(select(func.count()).select_from(_USAGE).where(
        _USAGE.c.batch_id == batch.id, _USAGE.c.flags.in_(also_other)))
    return flagged, flagged - (already or 0)


def clear_duplicates_of(session, removed_batch_id: int, months: list[str]) -> int:
    """Before a batch's rows go (delete, replace): rows of other live batches in `months` (the open
    ones) flagged only because of a trip in that batch lose the flag. Returns how many."""
    if not months:
        return 0
    twin = _USAGE.alias("twin")
    live = select(ImportBatch.id).where(ImportBatch.status == BATCH_ACTIVE, ImportBatch.id != removed_batch_id)
    in_removed = exists(select(literal(1)).select_from(twin).where(_same_trip(twin),
                                                                   twin.c.batch_id == removed_batch_id))
    elsewhere = exists(select(literal(1)).select_from(twin).where(
        _same_trip(twin), twin.c.batch_id != _USAGE.c.batch_id, twin.c.batch_id.in_(live)))
    result = session.execute(
        update(_USAGE).where(_USAGE.c.usage_month.in_(months),
                             _USAGE.c.flags.in_(flag_values(FLAG_SUSPECTED_DUPLICATE)),
                             _USAGE.c.batch_id.in_(live), in_removed, ~elsewhere)
        .values(flags=_USAGE.c.flags.op("&")(~FLAG_SUSPECTED_DUPLICATE)))
    return result.rowcount or 0


def twins_of(session, rows) -> dict[int, list]:
    """For a page of rows: row id → the rows of other live batches with the same trip (batch, line,
    file). Joined column to column (on SQLite the bulk-loaded date-times are text, so comparing them
    with bound Python values would be unreliable)."""
    if not rows:
        return {}
    twin = _USAGE.alias("twin")
    found = session.execute(
        select(_USAGE.c.id, twin.c.batch_id, twin.c.line_no, ImportBatch.file_name)
        .select_from(_USAGE.join(twin, and_(_same_trip(twin), twin.c.batch_id != _USAGE.c.batch_id))
                     .join(ImportBatch, ImportBatch.id == twin.c.batch_id))
        .where(_USAGE.c.id.in_([r.id for r in rows]), ImportBatch.status == BATCH_ACTIVE)
        .order_by(twin.c.batch_id, twin.c.line_no)).all()
    twins: dict[int, list] = {}
    for row in found:
        twins.setdefault(row.id, []).append(row)
    return twins
