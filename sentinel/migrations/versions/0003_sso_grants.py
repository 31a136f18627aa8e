"""SSO apps and OAuth grants

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sso_apps',
    sa.Column('app_key', sa.String(length=255), nullable=False),
    sa.Column('app_id', sa.String(length=255), nullable=False),
    sa.Column('app_name', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('app_key', name=op.f('pk_sso_apps'))
    )
    op.create_table('sso_grants',
    sa.Column('app_key', sa.String(length=255), nullable=False),
    sa.Column('user', sa.String(length=256), nullable=False),
    sa.Column('site', sa.String(length=128), nullable=False),
    sa.Column('population', sa.String(length=16), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('grants', sa.Integer(), nullable=False),
    sa.Column('revokes', sa.Integer(), nullable=False),
    sa.Column('first_granted', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_granted', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_revoked', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('app_key', 'user', name=op.f('pk_sso_grants'))
    )
    with op.batch_alter_table('sso_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_grants_active'), ['active'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sso_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_grants_active'))
    op.drop_table('sso_grants')
    op.drop_table('sso_apps')
