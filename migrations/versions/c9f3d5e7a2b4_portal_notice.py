"""portal_notice: the mail telling a member its documents of a closed month are on the portal, one row per
member and month, with its sending state, attempts and the last error (issue 12 item 3).

Revision ID: c9f3d5e7a2b4
Revises: b8e2c4d6f1a3
Create Date: 2026-11-30 00:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = "c9f3d5e7a2b4"
down_revision = "b8e2c4d6f1a3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "portal_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_portal_notice_status"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "month", name="uq_portal_notice_member_month"),
    )
    op.create_index("ix_portal_notice_member_id", "portal_notice", ["member_id"])
    op.create_index("ix_portal_notice_status_next", "portal_notice", ["status", "next_attempt_at"])


def downgrade():
    op.drop_index("ix_portal_notice_status_next", table_name="portal_notice")
    op.drop_index("ix_portal_notice_member_id", table_name="portal_notice")
    op.drop_table("portal_notice")
