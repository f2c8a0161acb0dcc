"""collection_profile (収納代行・委託者), debit_batch and debit_batch_item (全銀 口座振替 files), the member's
profile and the operator's default profile (issue 11).

Revision ID: b3c5d7e9f1a2
Revises: a7d3e9c1b5f2
Create Date: 2026-11-30 00:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b3c5d7e9f1a2'
down_revision = 'a7d3e9c1b5f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'collection_profile',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('requester_code', sa.String(length=10), nullable=True),
        sa.Column('requester_name_kana', sa.String(length=40), nullable=True),
        sa.Column('debit_day', sa.Integer(), nullable=True),
        sa.Column('separator', sa.String(length=10), server_default='crlf', nullable=False),
        sa.Column('customer_number', sa.String(length=10), server_default='numeric', nullable=False),
        sa.Column('charset', sa.String(length=10), server_default='strict', nullable=False),
        sa.Column('use_new_code', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('use_edi', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('bank_code', sa.String(length=4), nullable=True),
        sa.Column('bank_name', sa.String(length=60), nullable=True),
        sa.Column('branch_code', sa.String(length=3), nullable=True),
        sa.Column('branch_name', sa.String(length=60), nullable=True),
        sa.Column('account_type', sa.Integer(), nullable=True),
        sa.Column('account_number', sa.String(length=7), nullable=True),
        sa.Column('account_holder_kana', sa.String(length=60), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    op.create_table(
        'debit_batch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('profile_id', sa.Integer(), sa.ForeignKey('collection_profile.id'), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('debit_date', sa.Date(), nullable=False),
        sa.Column('record_count', sa.Integer(), nullable=False),
        sa.Column('total_amount', sa.BigInteger(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('excluded', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('sent_by', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('profile_id', 'month', 'number', name='uq_debit_batch_number'),
    )
    op.create_index('ix_debit_batch_profile_id', 'debit_batch', ['profile_id'])
    op.create_index('ix_debit_batch_month', 'debit_batch', ['month'])
    op.create_table(
        'debit_batch_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), sa.ForeignKey('debit_batch.id'), nullable=False),
        sa.Column('line_no', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), sa.ForeignKey('invoice.id'), nullable=False),
        sa.Column('member_id', sa.Integer(), sa.ForeignKey('member.id'), nullable=False),
        sa.Column('customer_number', sa.String(length=20), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('bank_code', sa.String(length=4), nullable=False),
        sa.Column('branch_code', sa.String(length=3), nullable=False),
        sa.Column('account_type', sa.Integer(), nullable=False),
        sa.Column('account_number', sa.String(length=7), nullable=False),
        sa.Column('holder_name', sa.String(length=30), nullable=False),
        sa.Column('new_code', sa.String(length=1), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_debit_batch_item_batch_id', 'debit_batch_item', ['batch_id'])
    op.create_index('ix_debit_batch_item_invoice_id', 'debit_batch_item', ['invoice_id'])
    op.create_index('ix_debit_batch_item_member_id', 'debit_batch_item', ['member_id'])
    with op.batch_alter_table('member') as batch:
        batch.add_column(sa.Column('collection_profile_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_member_collection_profile', 'collection_profile', ['collection_profile_id'], ['id'])
        batch.create_index('ix_member_collection_profile_id', ['collection_profile_id'])
    with op.batch_alter_table('operator_settings') as batch:
        batch.add_column(sa.Column('default_collection_profile_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_operator_default_collection_profile', 'collection_profile',
                                 ['default_collection_profile_id'], ['id'])


def downgrade():
    with op.batch_alter_table('operator_settings') as batch:
        batch.drop_constraint('fk_operator_default_collection_profile', type_='foreignkey')
        batch.drop_column('default_collection_profile_id')
    with op.batch_alter_table('member') as batch:
        batch.drop_index('ix_member_collection_profile_id')
        batch.drop_constraint('fk_member_collection_profile', type_='foreignkey')
        batch.drop_column('collection_profile_id')
    op.drop_table('debit_batch_item')
    op.drop_table('debit_batch')
    op.drop_table('collection_profile')
