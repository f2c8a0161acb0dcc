"""write_off: 未収の償却 (staff request with a reason, 責任者 approves); an approved one stops the carry-over
of the invoice's unpaid balance; billing_run.transfers_reconciled_at/by: 振込の消込完了 (issue 11 item 5).

Revision ID: d5e7f9a1b3c4
Revises: c4d6e8f0a2b3
Create Date: 2026-11-30 00:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd5e7f9a1b3c4'
down_revision = 'c4d6e8f0a2b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'write_off',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), sa.ForeignKey('invoice.id'), nullable=False),
        sa.Column('member_id', sa.Integer(), sa.ForeignKey('member.id'), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('requested_by', sa.String(length=128), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by', sa.String(length=128), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_write_off_invoice_id', 'write_off', ['invoice_id'])
    op.create_index('ix_write_off_member_id', 'write_off', ['member_id'])
    with op.batch_alter_table('billing_run') as batch:
        batch.add_column(sa.Column('transfers_reconciled_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('transfers_reconciled_by', sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table('billing_run') as batch:
        batch.drop_column('transfers_reconciled_by')
        batch.drop_column('transfers_reconciled_at')
    op.drop_table('write_off')
