"""usage_record: index (usage_month, exit_at, id) — the usage list reads a month in date order, a page at a
time by keyset (issue 9 item 8), without sorting the month's rows on every page.

Revision ID: b9e2d4f6a8c1
Revises: c9f3d5e7a2b4
Create Date: 2026-11-30 00:30:00

"""
from alembic import op


revision = 'b9e2d4f6a8c1'
down_revision = 'c9f3d5e7a2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_usage_month_exit', 'usage_record', ['usage_month', 'exit_at', 'id'])


def downgrade():
    op.drop_index('ix_usage_month_exit', table_name='usage_record')
