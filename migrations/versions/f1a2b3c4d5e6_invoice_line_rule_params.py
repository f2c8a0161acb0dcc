"""invoice_line.rule_params: the rule versions (id, valid_from, params, rounding) a line was computed
with, so that a tariff rule corrected after its month closed does not change what the closed invoice
says it used (issue 8 item 15). Lines written before this migration have none.

Revision ID: f1a2b3c4d5e6
Revises: d5e6f7a8b9c0
Create Date: 2026-11-29 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f1a2b3c4d5e6'
down_revision = 'd5e6f7a8b9c0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_column('rule_params')
