"""import profiles: header variants and the 平日朝夕 remark; shipped etc-meisai / nexco-fixed updated

Revision ID: c3d9e4f1a2b6
Revises: b7d1e5a0c912
Create Date: 2026-11-29 17:40:00

The shipped profiles are created by `flask etc init` only when missing, so a database made before this
revision keeps the old etc-meisai (refuses real downloads) and nexco-fixed (no category amounts). They
are brought up to date here, but only where their columns are still exactly as shipped: a profile
staff have edited is left as they made it.
"""
import json

from alembic import op
import sqlalchemy as sa


revision = 'c3d9e4f1a2b6'
down_revision = 'b7d1e5a0c912'
branch_labels = None
depends_on = None

OLD_ETC_MEISAI = {
    "entry_date": "利用年月日（自）", "entry_time": "時分（自）", "exit_date": "利用年月日（至）", "exit_time": "時分（至）",
    "entry_ic": "利用ＩＣ（自）", "exit_ic": "利用ＩＣ（至）", "amount_before_discount": "割引前料金",
    "discount": "ＥＴＣ割引額", "amount_billed": "通行料金", "vehicle_class": "車種", "plate": "車両番号",
    "card_number": "ＥＴＣカード番号", "remarks": "備考",
}
NEW_ETC_MEISAI = {**OLD_ETC_MEISAI, "amount_rebate_applied": "還元額適用料金", "amount_deferred": "後納料金"}
ETC_MEISAI_ALIASES = {"（入）": "（自）", "（出）": "（至）", "時刻": "時分"}
OLD_NEXCO_FIXED = {
    "card_number": [10, 15], "exit_date": [30, 8], "entry_ic": [46, 20], "exit_ic": [71, 20],
    "vehicle_class": [91, 2], "amount_billed": [[99, 6], [105, 6], [111, 6]], "remarks": [117, 2],
}
NEW_NEXCO_FIXED = {**OLD_NEXCO_FIXED, "amount_expressway": [99, 6], "amount_general_toll": [105, 6],
                   "amount_public_corp": [111, 6]}


def _update_if_unchanged(name, old_columns, **values):
    bind = op.get_bind()
    row = bind.execute(sa.text("SELECT id, columns FROM import_profile WHERE name = :name"), {"name": name}).first()
    if row is None:
        return
    columns = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    if columns != old_columns:
        return
    table = sa.table("import_profile", sa.column("id", sa.Integer), sa.column("columns", sa.JSON),
                     sa.column("header_aliases", sa.JSON), sa.column("peak_time_remark", sa.String))
    bind.execute(table.update().where(table.c.id == row[0]).values(**values))


def upgrade():
    with op.batch_alter_table('import_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('header_aliases', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('peak_time_remark', sa.String(length=20), nullable=True))
    _update_if_unchanged("etc-meisai", OLD_ETC_MEISAI, columns=NEW_ETC_MEISAI, header_aliases=ETC_MEISAI_ALIASES,
                         peak_time_remark="（朝夕）")
    _update_if_unchanged("nexco-fixed", OLD_NEXCO_FIXED, columns=NEW_NEXCO_FIXED)


def downgrade():
    _update_if_unchanged("nexco-fixed", NEW_NEXCO_FIXED, columns=OLD_NEXCO_FIXED)
    _update_if_unchanged("etc-meisai", NEW_ETC_MEISAI, columns=OLD_ETC_MEISAI)
    with op.batch_alter_table('import_profile', schema=None) as batch_op:
        batch_op.drop_column('peak_time_remark')
        batch_op.drop_column('header_aliases')
