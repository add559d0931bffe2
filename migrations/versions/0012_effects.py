"""effects: the outbox of external calls (payments) committed before they are made

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 22:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'effects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
        sa.Column('task_key', sa.String(length=255), nullable=False),
        sa.Column('operator', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('lease_until', sa.DateTime(), nullable=False),
        sa.Column('settled_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_effects_instance_id', 'effects', ['instance_id'])
    op.create_index('ix_effects_key', 'effects', ['key'])
    op.create_index('ix_effects_open', 'effects', ['status', 'lease_until'])


def downgrade() -> None:
    op.drop_table('effects')
