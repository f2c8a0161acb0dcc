"""month_lock: one row per usage month, locked by every writer of the month (issue 7 item 13)

Revision ID: c3d4e5f6a7b8
Revises: e8f4a1b3c5d7
Create Date: 2026-11-29 17:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d4e5f6a7b8'
down_revision = 'e8f4a1b3c5d7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('month_lock', sa.Column('month', sa.String(length=7), nullable=False),
                    sa.PrimaryKeyConstraint('month'))


def downgrade():
    op.drop_table('month_lock')
