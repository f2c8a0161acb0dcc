"""debit_batch: 差し替え (a sent debit file replaced by a later one of the same month; docs/payments.md).

Revision ID: c4e6a8b0d2f4
Revises: b3d5f7a9c1e2
Create Date: 2026-11-30 06:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e6a8b0d2f4'
down_revision = 'b3d5f7a9c1e2'
branch_labels = None
depends_on = None


def upgrade():
    # The status itself is a plain string column: 'replaced' needs no change there. Existing batches keep NULL.
    with op.batch_alter_table('debit_batch') as batch:
        batch.add_column(sa.Column('replaced_by_batch_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('replaced_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('replaced_by', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('replacement_reason', sa.String(length=200), nullable=True))
        batch.create_foreign_key('fk_debit_batch_replaced_by_batch_id', 'debit_batch', ['replaced_by_batch_id'], ['id'])


def downgrade():
    with op.batch_alter_table('debit_batch') as batch:
        batch.drop_constraint('fk_debit_batch_replaced_by_batch_id', type_='foreignkey')
        batch.drop_column('replacement_reason')
        batch.drop_column('replaced_by')
        batch.drop_column('replaced_at')
        batch.drop_column('replaced_by_batch_id')
