"""findings lifecycle: evidence tier, details, resolution, suppression, transitions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added columns only: SQLite takes them by ALTER TABLE ADD COLUMN, with no
    # copy of the table. Findings raised before this revision get tier "dns"
    # and empty details until the next evaluation rewrites them.
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=32), nullable=False,
                                      server_default='dns'))
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('resolution', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suppressed_until', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('state_changed_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('state_reason', sa.Text(), nullable=True))
    op.create_table('finding_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=False),
    sa.Column('resolution', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('suppressed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'],
                            name=op.f('fk_finding_transitions_finding_id_findings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_transitions'))
    )
    with op.batch_alter_table('finding_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_transitions_finding_id'), ['finding_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('finding_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_transitions_finding_id'))
    op.drop_table('finding_transitions')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_column('state_reason')
        batch_op.drop_column('state_changed_at')
        batch_op.drop_column('suppressed_until')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('resolution')
        batch_op.drop_column('details')
        batch_op.drop_column('tier')
