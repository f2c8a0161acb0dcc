"""debit_result_import (振替結果 files), payment (入金 against invoices), transfer_receipt (振込入金), and the
result code of each debit record (issue 11 item 4).

Revision ID: c4d6e8f0a2b3
Revises: b9e2d4f6a8c1
Create Date: 2026-11-30 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4d6e8f0a2b3'
down_revision = 'b9e2d4f6a8c1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'debit_result_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), sa.ForeignKey('debit_batch.id'), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.Column('imported_by', sa.String(length=128), nullable=True),
        sa.Column('paid_count', sa.Integer(), nullable=False),
        sa.Column('paid_amount', sa.BigInteger(), nullable=False),
        sa.Column('failed_count', sa.Integer(), nullable=False),
        sa.Column('failed_amount', sa.BigInteger(), nullable=False),
        sa.Column('unknown_count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('batch_id'),
        sa.UniqueConstraint('sha256'),
    )
    op.create_table(
        'transfer_receipt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('payer_kana', sa.String(length=60), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.Column('file_sha256', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_transfer_receipt_file_sha256', 'transfer_receipt', ['file_sha256'])
    op.create_table(
        'payment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), sa.ForeignKey('invoice.id'), nullable=False),
        sa.Column('member_id', sa.Integer(), sa.ForeignKey('member.id'), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('result_import_id', sa.Integer(), sa.ForeignKey('debit_result_import.id'), nullable=True),
        sa.Column('transfer_receipt_id', sa.Integer(), sa.ForeignKey('transfer_receipt.id'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('transfer_receipt_id'),
    )
    op.create_index('ix_payment_invoice_id', 'payment', ['invoice_id'])
    op.create_index('ix_payment_member_id', 'payment', ['member_id'])
    op.create_index('ix_payment_result_import_id', 'payment', ['result_import_id'])
    with op.batch_alter_table('debit_batch_item') as batch:
        batch.add_column(sa.Column('result_code', sa.String(length=1), nullable=True))
        batch.add_column(sa.Column('result_import_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_debit_batch_item_result_import', 'debit_result_import', ['result_import_id'], ['id'])
        batch.create_index('ix_debit_batch_item_result_import_id', ['result_import_id'])


def downgrade():
    with op.batch_alter_table('debit_batch_item') as batch:
        batch.drop_index('ix_debit_batch_item_result_import_id')
        batch.drop_constraint('fk_debit_batch_item_result_import', type_='foreignkey')
        batch.drop_column('result_import_id')
        batch.drop_column('result_code')
    op.drop_table('payment')
    op.drop_table('transfer_receipt')
    op.drop_table('debit_result_import')
