"""rate_limit_counter: login rate limits counted in the database, once for every gunicorn worker
(app/security/rate_limits.py, docs/security.md).

Revision ID: f3b1d9e7c5a2
Revises: c4e6a8b0d2f4
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3b1d9e7c5a2'
down_revision = 'c4e6a8b0d2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_counter',
                    sa.Column('key', sa.Text(), nullable=False),
                    sa.Column('count', sa.Integer(), nullable=False),
                    sa.Column('expires_at', sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint('key'))
    op.create_index('ix_rate_limit_counter_expires_at', 'rate_limit_counter', ['expires_at'])


def downgrade():
    op.drop_index('ix_rate_limit_counter_expires_at', table_name='rate_limit_counter')
    op.drop_table('rate_limit_counter')
