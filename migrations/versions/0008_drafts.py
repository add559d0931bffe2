"""studio: analysts' drafts, and who made a version newest again by a rollback (with why)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('process_key', sa.String(length=255), nullable=False),
    sa.Column('base_deployment_id', sa.Integer(), nullable=True),
    sa.Column('files', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['base_deployment_id'], ['deployments.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username', 'process_key')
    )
    with op.batch_alter_table('process_definitions') as batch:
        batch.add_column(sa.Column('deployed_by', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('comment', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_definitions') as batch:
        batch.drop_column('comment')
        batch.drop_column('deployed_by')
    op.drop_table('drafts')
