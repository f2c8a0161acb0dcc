"""usage records: category amounts, rebate / deferred amounts, 平日朝夕, operator source, trip index;
one live batch per file hash (partial unique index)

Revision ID: b7e1c0a2d5f3
Revises: 04455bbfe7af
Create Date: 2026-11-29 17:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e1c0a2d5f3'
down_revision = '04455bbfe7af'
branch_labels = None
depends_on = None

LIVE = sa.text("status = 'active'")


def upgrade():
    with op.batch_alter_table('usage_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_expressway', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('amount_general_toll', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('amount_public_corp', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('amount_rebate_applied', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('amount_deferred', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('peak_time', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('road_operator_source', sa.String(length=10), nullable=True))
        batch_op.create_index('ix_usage_trip', ['card_number', 'exit_at'], unique=False)
    # Rows imported before this revision got their operator from the file or the profile.
    op.execute("UPDATE usage_record SET road_operator_source = 'file' "
               "WHERE road_operator IS NOT NULL AND road_operator <> ''")
    # The same content imported twice before this constraint existed: the index cannot be built.
    # Say which batches, instead of deleting one silently (it may belong to a closed month).
    twice = op.get_bind().execute(sa.text(
        "SELECT sha256, MIN(id), MAX(id) FROM import_batch WHERE status = 'active' "
        "GROUP BY sha256 HAVING COUNT(*) > 1")).all()
    if twice:
        pairs = ", ".join(f"取込#{first} と 取込#{last}" for _, first, last in twice)
        raise RuntimeError(f"同じファイルの有効な取込が2件以上あります（{pairs}）。"
                           "どちらかを削除してから、もう一度データベースを更新してください。")
    op.create_index('uq_import_batch_live_sha256', 'import_batch', ['sha256'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade():
    op.drop_index('uq_import_batch_live_sha256', table_name='import_batch')
    with op.batch_alter_table('usage_record', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_trip')
        batch_op.drop_column('road_operator_source')
        batch_op.drop_column('peak_time')
        batch_op.drop_column('amount_deferred')
        batch_op.drop_column('amount_rebate_applied')
        batch_op.drop_column('amount_public_corp')
        batch_op.drop_column('amount_general_toll')
        batch_op.drop_column('amount_expressway')
