"""termination_requests: a holder's surrender or cancellation request from its refund until it ends

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'termination_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('policy_id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('request_date', sa.Date(), nullable=False),
        sa.Column('in_cooling_off', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['policy_id'], ['policies.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_termination_requests_policy_id', 'termination_requests', ['policy_id'])
    op.create_index('ix_termination_requests_instance_id', 'termination_requests', ['instance_id'], unique=True)


def downgrade() -> None:
    op.drop_table('termination_requests')
