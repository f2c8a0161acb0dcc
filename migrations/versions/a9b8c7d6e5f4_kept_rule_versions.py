"""kept_rule_versions: the tariff rule versions an invoice was computed with, kept once per content
(SHA-256, unique) and pointed at by invoice.kept_rule_versions_id, instead of ≈600 bytes of JSON on
every discount and fee line (invoice_line.rule_params; issue 7, speed of the billing run). Each line
finds its own versions by its rule id, as before. Existing lines move: per invoice, the union of its
lines' kept versions; every line must read back exactly what it kept, or the migration stops.

Revision ID: a9b8c7d6e5f4
Revises: e6f8a0b2c4d5
Create Date: 2026-11-30 03:00:00

"""
import datetime as dt
import hashlib
import json

from alembic import op
import sqlalchemy as sa


revision = 'a9b8c7d6e5f4'
down_revision = 'e6f8a0b2c4d5'
branch_labels = None
depends_on = None

_kept = sa.table('kept_rule_versions', sa.column('id', sa.Integer), sa.column('sha256', sa.String),
                 sa.column('versions', sa.JSON), sa.column('created_at', sa.DateTime))
_invoice = sa.table('invoice', sa.column('id', sa.Integer), sa.column('kept_rule_versions_id', sa.Integer))


def _line_table():
    return sa.table('invoice_line', sa.column('id', sa.BigInteger), sa.column('invoice_id', sa.Integer),
                    sa.column('rule_id', sa.String), sa.column('rule_params', sa.JSON))


def _digest(versions):
    """app.domain.tariff.kept_digest, as of this migration."""
    text = json.dumps(versions, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _for_line(rule_id, kept):
    """app.domain.tariff.kept_for_line, as of this migration."""
    if not rule_id or not kept:
        return None
    by_id = {version["id"]: version for version in kept}
    found = [by_id[part] for part in rule_id.split("+") if part in by_id]
    return found or None


def upgrade():
    op.create_table(
        'kept_rule_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('versions', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sha256'),
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kept_rule_versions_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_invoice_kept_rule_versions', 'kept_rule_versions',
                                    ['kept_rule_versions_id'], ['id'])

    bind = op.get_bind()
    line = _line_table()
    invoice_ids = [row[0] for row in bind.execute(sa.select(_invoice.c.id).order_by(_invoice.c.id))]
    ids: dict[str, int] = {}
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).replace(tzinfo=None)  # Japan time, as now_jst
    for start in range(0, len(invoice_ids), 500):  # a few hundred invoices' lines at a time
        by_invoice: dict[int, list] = {}
        for invoice_id, rule_id, params in bind.execute(
                sa.select(line.c.invoice_id, line.c.rule_id, line.c.rule_params)
                .where(line.c.invoice_id.in_(invoice_ids[start:start + 500]))):
            by_invoice.setdefault(invoice_id, []).append((rule_id, params))
        kept_of: dict[int, list] = {}
        for invoice_id, lines in by_invoice.items():
            union = {}
            for _, params in lines:
                for version in params or []:
                    union[version["id"]] = version
            if not union:
                continue
            versions = sorted(union.values(), key=lambda v: (v.get("type") or "", v["id"]))
            for rule_id, params in lines:  # every line reads back what it kept, or nothing moves
                if _for_line(rule_id, versions) != (params or None):
                    raise RuntimeError(f"invoice {invoice_id}: line {rule_id} would not read back its kept rule "
                                       f"versions")
            digest = _digest(versions)
            if digest not in ids:
                found = bind.execute(sa.select(_kept.c.id).where(_kept.c.sha256 == digest)).scalar()
                if found is None:
                    bind.execute(_kept.insert().values(sha256=digest, versions=versions, created_at=now))
                    found = bind.execute(sa.select(_kept.c.id).where(_kept.c.sha256 == digest)).scalar()
                ids[digest] = found
            kept_of.setdefault(ids[digest], []).append(invoice_id)
        for kept_id, invoices in kept_of.items():
            bind.execute(_invoice.update().where(_invoice.c.id.in_(invoices)).values(kept_rule_versions_id=kept_id))

    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_column('rule_params')


def downgrade():
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_params', sa.JSON(), nullable=True))
    bind = op.get_bind()
    line = _line_table()
    kept = {kept_id: versions for kept_id, versions in bind.execute(sa.select(_kept.c.id, _kept.c.versions))}
    rows = bind.execute(sa.select(line.c.id, line.c.rule_id, _invoice.c.kept_rule_versions_id)
                        .join(_invoice, _invoice.c.id == line.c.invoice_id)
                        .where(_invoice.c.kept_rule_versions_id.is_not(None))).all()
    for line_id, rule_id, kept_id in rows:
        params = _for_line(rule_id, kept.get(kept_id))
        if params is not None:
            bind.execute(line.update().where(line.c.id == line_id).values(rule_params=params))
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invoice_kept_rule_versions', type_='foreignkey')
        batch_op.drop_column('kept_rule_versions_id')
    op.drop_table('kept_rule_versions')
