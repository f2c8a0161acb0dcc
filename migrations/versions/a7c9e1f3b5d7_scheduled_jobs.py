"""scheduled_job (定期処理) and job_run (the ledger of runs, one per job and period; issue 13 items 1-3).

Revision ID: a7c9e1f3b5d7
Revises: a9b8c7d6e5f4
Create Date: 2026-11-30 03:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c9e1f3b5d7'
down_revision = 'a9b8c7d6e5f4'
branch_labels = None
depends_on = None


def upgrade():
    scheduled = op.create_table(
        'scheduled_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('cron', sa.String(length=100), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'job_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_name', sa.String(length=40), nullable=False),
        sa.Column('period', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('trigger', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('started_by', sa.String(length=128), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('counts', sa.JSON(), nullable=True),
        sa.Column('log', sa.Text(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('job_name', 'period', name='uq_job_run_job_period'),
    )
    op.create_index('ix_job_run_job_name', 'job_run', ['job_name'])
    op.create_index('ix_job_run_status', 'job_run', ['status'])
    op.create_index('ix_job_run_started_at', 'job_run', ['started_at'])
    # The jobs as shipped (app/jobs/scheduled/; `flask etc init` adds any a later version brings).
    # Disabled until the office has looked at them on the 定期処理 screen, except the daily backup.
    import datetime as dt

    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).replace(tzinfo=None)
    op.bulk_insert(scheduled, [
        dict(name=name, cron=cron, enabled=enabled, params=params, updated_at=now)
        for name, cron, enabled, params in SHIPPED])


# Frozen copy of app/jobs/scheduled's defaults at this revision (a migration never imports app code).
SHIPPED = [
    ("inbox-import", "0 6 * * *", False, {}),
    ("billing-draft", "0 7 5 * *", False, {}),
    ("documents", "0 22 * * *", False, {}),
    ("debit-files", "0 8 15 * *", False, {}),
    ("renewals", "0 7 1 * *", False, {"months": 3}),
    ("backup", "30 2 * * *", True, {"folder": "", "keep_daily_days": 30, "keep_monthly_years": 5}),
    ("retention", "0 4 1 * *", False, {"years": 5, "fiscal_year_start_month": 4, "backup_max_hours": 36}),
]


def downgrade():
    op.drop_table('job_run')
    op.drop_table('scheduled_job')
