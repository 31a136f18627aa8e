"""audit chain: the append-only audit_log table and the triggers guarding it

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


# The application never updates or deletes an audit row; these make the
# database refuse it too. (Recreating audit_log, e.g. by an Alembic batch
# operation on SQLite, drops them: a later migration must not do that.)
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN"
    " SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE rejected'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN"
    " SELECT RAISE(ABORT, 'audit_log is append-only: DELETE rejected'); END",
]

POSTGRES_TRIGGERS = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN RAISE EXCEPTION 'audit_log is append-only: % rejected', TG_OP"
    " USING ERRCODE = 'insufficient_privilege'; END $$",
    "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    # TRUNCATE fires no row trigger: it needs a statement trigger of its own.
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    dialect = op.get_context().dialect.name
    if dialect == 'sqlite':
        for ddl in SQLITE_TRIGGERS:
            op.execute(ddl)
    elif dialect == 'postgresql':
        for ddl in POSTGRES_TRIGGERS:
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
    if dialect == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
