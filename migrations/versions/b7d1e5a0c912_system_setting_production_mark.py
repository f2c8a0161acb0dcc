"""system_setting: facts about the installation (the production mark that refuses demo data)

Revision ID: b7d1e5a0c912
Revises: b7e1c0a2d5f3
Create Date: 2026-11-29 17:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d1e5a0c912'
down_revision = 'b7e1c0a2d5f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('system_setting',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade():
    op.drop_table('system_setting')
