"""import batch: first / last exit date-time (which batches a new one can share trips with)

Revision ID: d5a8f2c7e913
Revises: d5b2c7e9f013
Create Date: 2026-11-29 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd5a8f2c7e913'
down_revision = 'd5b2c7e9f013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_exit_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_exit_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_column('last_exit_at')
        batch_op.drop_column('first_exit_at')
