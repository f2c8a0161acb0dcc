"""agency_commission (代理店手数料 computed at the close and kept; issue 11 item 6) and billing_run.agency_commissions_at.

Revision ID: b3d5f7a9c1e2
Revises: a7c9e1f3b5d7
Create Date: 2026-11-30 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b3d5f7a9c1e2'
down_revision = 'a7c9e1f3b5d7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'agency_commission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('agency_id', sa.Integer(), sa.ForeignKey('agency.id'), nullable=False),
        sa.Column('is_individual', sa.Boolean(), nullable=False),
        sa.Column('usage_total', sa.BigInteger(), nullable=False),
        sa.Column('fee_total', sa.BigInteger(), nullable=False),
        sa.Column('cards', sa.Integer(), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('month', 'agency_id', name='uq_agency_commission_month_agency'),
    )
    op.create_index('ix_agency_commission_agency_id', 'agency_commission', ['agency_id'])
    # Months already closed keep NULL: their commissions are computed from the current data, as before.
    with op.batch_alter_table('billing_run') as batch:
        batch.add_column(sa.Column('agency_commissions_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('billing_run') as batch:
        batch.drop_column('agency_commissions_at')
    op.drop_table('agency_commission')
