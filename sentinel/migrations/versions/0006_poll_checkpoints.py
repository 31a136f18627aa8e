"""poll checkpoints: how far an API source (Google Reports API) has been polled

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


# A new table only: audit_log is not touched (a batch operation on it would
# recreate it on SQLite and drop its append-only triggers).
def upgrade() -> None:
    op.create_table('poll_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('application', sa.String(length=64), nullable=False),
    sa.Column('last_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_ids', sa.JSON(), nullable=False),
    sa.Column('pending', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_checkpoints')),
    sa.UniqueConstraint('source', 'application', name=op.f('uq_poll_checkpoints_source'))
    )


def downgrade() -> None:
    op.drop_table('poll_checkpoints')
