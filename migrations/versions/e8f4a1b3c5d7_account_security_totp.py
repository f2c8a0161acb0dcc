"""account_security: two-factor authentication (TOTP secret, last step, hashed recovery codes)

Revision ID: e8f4a1b3c5d7
Revises: d5a8f2c7e913
Create Date: 2026-11-29 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e8f4a1b3c5d7'
down_revision = 'd5a8f2c7e913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account_security') as batch:
        batch.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('totp_enabled_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('recovery_codes', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('account_security') as batch:
        batch.drop_column('recovery_codes')
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_enabled_at')
        batch.drop_column('totp_secret')
