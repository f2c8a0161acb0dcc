"""agency.is_individual (源泉徴収) and agency_commission_rule (代理店手数料の規則, effective-dated; issue 11 item 6).

Revision ID: e6f8a0b2c4d5
Revises: d5e7f9a1b3c4
Create Date: 2026-11-30 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e6f8a0b2c4d5'
down_revision = 'd5e7f9a1b3c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agency') as batch:
        batch.add_column(sa.Column('is_individual', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'agency_commission_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), sa.ForeignKey('agency.id'), nullable=False),
        sa.Column('basis', sa.String(length=20), nullable=False),
        sa.Column('rate', sa.Numeric(6, 4), nullable=True),
        sa.Column('amount', sa.Integer(), nullable=True),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_agency_commission_rule_agency_id', 'agency_commission_rule', ['agency_id'])


def downgrade():
    op.drop_table('agency_commission_rule')
    with op.batch_alter_table('agency') as batch:
        batch.drop_column('is_individual')
