"""catalog store: products, changes, noise labels and file imports

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


# New tables only: audit_log is not touched (a batch operation on it would
# recreate it on SQLite and drop its append-only triggers).
def upgrade() -> None:
    op.create_table('catalog_products',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_products'))
    )
    op.create_table('catalog_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('product_id', sa.String(length=80), nullable=True),
    sa.Column('domain', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_changes'))
    )
    op.create_index(op.f('ix_catalog_changes_product_id'), 'catalog_changes', ['product_id'],
                    unique=False)
    op.create_table('catalog_noise',
    sa.Column('rule', sa.String(length=255), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('rule', name=op.f('pk_catalog_noise'))
    )
    op.create_table('catalog_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mapping', sa.String(length=32), nullable=False),
    sa.Column('replace', sa.Boolean(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_imports'))
    )


def downgrade() -> None:
    op.drop_table('catalog_imports')
    op.drop_table('catalog_noise')
    op.drop_index(op.f('ix_catalog_changes_product_id'), table_name='catalog_changes')
    op.drop_table('catalog_changes')
    op.drop_table('catalog_products')
