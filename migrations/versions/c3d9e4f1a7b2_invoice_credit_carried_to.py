"""invoice: a credit (negative total) is carried into the member's next invoice; which invoice carried
it (set when that invoice's month is closed)

Revision ID: c3d9e4f1a7b2
Revises: c3a8f0e1d2b4
Create Date: 2026-11-29 17:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d9e4f1a7b2'
down_revision = 'c3a8f0e1d2b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_carried_to_invoice_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_invoice_credit_carried_to_invoice_id', ['credit_carried_to_invoice_id'],
                              unique=False)
        batch_op.create_foreign_key('fk_invoice_credit_carried_to', 'invoice', ['credit_carried_to_invoice_id'],
                                    ['id'])


def downgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invoice_credit_carried_to', type_='foreignkey')
        batch_op.drop_index('ix_invoice_credit_carried_to_invoice_id')
        batch_op.drop_column('credit_carried_to_invoice_id')
