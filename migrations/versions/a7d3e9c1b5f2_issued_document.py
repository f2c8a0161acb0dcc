"""issued_document: the bytes of every issued document (invoice, statements, payment notice; PDF and Excel)
with their SHA-256 and the hash chain (電子帳簿保存法, issue 10 items 2 and 6); member.invoice_by_post
(郵送希望: the merged PDF for mailing holds those members' invoices).

A trigger refuses changing a stored document's bytes, hash or place in the chain: "stored bytes are never
rewritten" is the database's rule, not only the application's (the hash chain still detects a change made
with the trigger removed: flask etc verify-documents).

Revision ID: a7d3e9c1b5f2
Revises: a7c3e5f9b1d2
Create Date: 2026-11-29 20:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7d3e9c1b5f2'
down_revision = 'a7c3e5f9b1d2'
branch_labels = None
depends_on = None

TRIGGER = 'issued_document_keep_bytes'
MESSAGE = '発行済みの帳票の内容・ハッシュ・チェーンは変更できません'


def upgrade():
    op.create_table(
        'issued_document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('format', sa.String(length=4), nullable=False),
        sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('chain_position', sa.Integer(), nullable=True),
        sa.Column('chain_hash', sa.String(length=64), nullable=True),
        sa.Column('token', sa.String(length=64), nullable=True),
        sa.Column('replaces_document_id', sa.Integer(), nullable=True),
        sa.Column('claimed_by', sa.String(length=80), nullable=True),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'rendered', 'failed')", name='ck_issued_document_status'),
        sa.CheckConstraint("format IN ('pdf', 'xlsx')", name='ck_issued_document_format'),
        sa.CheckConstraint("status <> 'rendered' OR (content IS NOT NULL AND sha256 IS NOT NULL "
                           "AND chain_position IS NOT NULL AND chain_hash IS NOT NULL AND token IS NOT NULL)",
                           name='ck_issued_document_rendered_complete'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id']),
        sa.ForeignKeyConstraint(['member_id'], ['member.id']),
        sa.ForeignKeyConstraint(['replaces_document_id'], ['issued_document.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('invoice_id', 'kind', 'format', name='uq_issued_document_invoice_kind_format'),
        sa.UniqueConstraint('chain_position', name='uq_issued_document_chain_position'),
        sa.UniqueConstraint('token', name='uq_issued_document_token'),
    )
    op.create_index('ix_issued_document_month_status', 'issued_document', ['month', 'status'])
    op.create_index('ix_issued_document_member_id', 'issued_document', ['member_id'])
    op.create_index('ix_issued_document_replaces_document_id', 'issued_document', ['replaces_document_id'])
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_by_post', sa.Boolean(), server_default=sa.true(), nullable=False))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.content IS NOT NULL AND (NEW.content IS DISTINCT FROM OLD.content
                        OR NEW.sha256 IS DISTINCT FROM OLD.sha256 OR NEW.size IS DISTINCT FROM OLD.size
                        OR NEW.chain_hash IS DISTINCT FROM OLD.chain_hash
                        OR NEW.chain_position IS DISTINCT FROM OLD.chain_position) THEN
                    RAISE EXCEPTION '{MESSAGE}（issued_document %）', OLD.id;
                END IF;
                RETURN NEW;
            END $$""")
        op.execute(f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON issued_document "
                   f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()")
    else:
        op.execute(f"""
            CREATE TRIGGER {TRIGGER} BEFORE UPDATE OF content, sha256, size, chain_hash, chain_position
            ON issued_document WHEN OLD.content IS NOT NULL
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON issued_document")
        op.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('invoice_by_post')
    op.drop_index('ix_issued_document_replaces_document_id', table_name='issued_document')
    op.drop_index('ix_issued_document_member_id', table_name='issued_document')
    op.drop_index('ix_issued_document_month_status', table_name='issued_document')
    op.drop_table('issued_document')
