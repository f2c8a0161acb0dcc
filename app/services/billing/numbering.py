"""Invoice numbers: one gap-free sequence (インボイス制度: 登録番号 + 一意の請求書番号;
docs/billing.md). Numbers are taken only when amounts are final (the close, a re-issue)."""
from sqlalchemy import insert, select, update

from app.extensions import db
from app.models.billing import InvoiceNumberCounter

COUNTER_NAME = "invoice"
NUMBER_DIGITS = 8  # invoice numbers are zero-padded: 00000001, 00000002, … (docs/billing.md)


def next_numbers(count: int) -> list[str]:
    """`count` numbers from the one gap-free sequence. The counter row is locked (FOR UPDATE) until
    the calling transaction ends, and rolls back with it, so no number is lost or handed out twice."""
    session = db.session
    table = InvoiceNumberCounter.__table__
    last = session.scalar(select(table.c.last_value).where(table.c.name == COUNTER_NAME).with_for_update())
    if last is None:
        session.execute(insert(table).values(name=COUNTER_NAME, last_value=0))
        last = session.scalar(select(table.c.last_value).where(table.c.name == COUNTER_NAME).with_for_update())
    if count:
        session.execute(update(table).where(table.c.name == COUNTER_NAME).values(last_value=last + count))
    return [format_invoice_number(last + i) for i in range(1, count + 1)]


def format_invoice_number(value: int) -> str:
    return f"{value:0{NUMBER_DIGITS}d}"

