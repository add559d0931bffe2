"""dry_run_scenarios: scenarios analysts save with a process to dry-run drafts again

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dry_run_scenarios',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('scenario', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('process_key', 'name'),
    )
    with op.batch_alter_table('dry_run_scenarios') as batch:
        batch.create_index(batch.f('ix_dry_run_scenarios_process_key'), ['process_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dry_run_scenarios') as batch:
        batch.drop_index(batch.f('ix_dry_run_scenarios_process_key'))
    op.drop_table('dry_run_scenarios')
