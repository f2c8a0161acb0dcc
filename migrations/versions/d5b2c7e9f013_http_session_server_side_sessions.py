"""http_session: server-side login sessions (the cookie holds only a random id)

Revision ID: d5b2c7e9f013
Revises: c3d9e4f1a7b2
Create Date: 2026-11-29 17:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd5b2c7e9f013'
down_revision = 'c3d9e4f1a7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('http_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('touched_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_http_session_user_id', 'http_session', ['user_id'])
    op.create_index('ix_http_session_expires_at', 'http_session', ['expires_at'])


def downgrade():
    op.drop_index('ix_http_session_expires_at', table_name='http_session')
    op.drop_index('ix_http_session_user_id', table_name='http_session')
    op.drop_table('http_session')
