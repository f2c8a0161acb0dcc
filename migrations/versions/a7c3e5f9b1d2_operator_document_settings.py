"""operator_settings: the logo printed on the member documents (PNG/JPEG bytes and their type) and the
date style of those documents (西暦 2026年11月29日 or 和暦 令和8年11月29日), issue 10.

Revision ID: a7c3e5f9b1d2
Revises: f1a2b3c4d5e6
Create Date: 2026-11-29 21:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e5f9b1d2'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('operator_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('logo_image', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_mime', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('date_style', sa.String(length=10), nullable=False,
                                      server_default='seireki'))


def downgrade():
    with op.batch_alter_table('operator_settings', schema=None) as batch_op:
        batch_op.drop_column('date_style')
        batch_op.drop_column('logo_mime')
        batch_op.drop_column('logo_image')
