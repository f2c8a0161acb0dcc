"""billing_run.input_stamp (the review page's cheap check that the draft's inputs are unchanged), draft_warnings
(the warnings as the draft found them) and
billing_discount (the draft's per-card and contract discounts, read by the operator check)

Revision ID: d5e6f7a8b9c0
Revises: c3d4e5f6a7b8
Create Date: 2026-11-29 17:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd5e6f7a8b9c0'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('input_stamp', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('draft_warnings', sa.JSON(), nullable=True))
    op.create_table(
        'billing_discount',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('billing_run_id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.String(length=60), nullable=False),
        sa.Column('road_operator', sa.String(length=40), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=True),
        sa.Column('card_number', sa.String(length=16), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('discount_base', sa.BigInteger(), nullable=False),
        sa.Column('discount', sa.BigInteger(), nullable=False),
        sa.Column('comparable', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['billing_run_id'], ['billing_run.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_billing_discount_billing_run_id', 'billing_discount', ['billing_run_id'])


def downgrade():
    op.drop_index('ix_billing_discount_billing_run_id', table_name='billing_discount')
    op.drop_table('billing_discount')
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.drop_column('draft_warnings')
        batch_op.drop_column('input_stamp')
