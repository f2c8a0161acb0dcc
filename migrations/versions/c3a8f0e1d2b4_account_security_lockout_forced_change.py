"""account_security: login lock after repeated failures, forced password change after an admin's reset

Revision ID: c3a8f0e1d2b4
Revises: c3d9e4f1a2b6
Create Date: 2026-11-29 17:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3a8f0e1d2b4'
down_revision = 'c3d9e4f1a2b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_security',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('locked_at', sa.DateTime(), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )


def downgrade():
    op.drop_table('account_security')
