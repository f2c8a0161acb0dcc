"""member_account: who issued a member's portal login and when, and the hash of the initial password it was
issued with (a member may not choose it as its own password; issue 12 items 1 and 5).

Revision ID: b8e2c4d6f1a3
Revises: b3c5d7e9f1a2
Create Date: 2026-11-30 00:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "b8e2c4d6f1a3"
down_revision = "b3c5d7e9f1a2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("member_account") as batch:
        batch.add_column(sa.Column("issued_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("issued_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("initial_password_hash", sa.String(length=256), nullable=True))


def downgrade():
    with op.batch_alter_table("member_account") as batch:
        batch.drop_column("initial_password_hash")
        batch.drop_column("issued_by")
        batch.drop_column("issued_at")
