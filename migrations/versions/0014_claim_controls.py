"""claim controls: confirmed fraud with its police report reference and the policy's rescission review

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'fraud_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.Integer(), nullable=False),
        sa.Column('policy_id', sa.Integer(), nullable=False),
        sa.Column('finding', sa.Text(), nullable=False),
        sa.Column('police_report_reference', sa.String(length=60), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('rescission_outcome', sa.String(length=20), nullable=False),
        sa.Column('rescission_note', sa.Text(), nullable=True),
        sa.Column('rescission_decided_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['claim_id'], ['claims.id']),
        sa.ForeignKeyConstraint(['policy_id'], ['policies.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('claim_id'),
    )
    op.create_index('ix_fraud_cases_policy_id', 'fraud_cases', ['policy_id'])


def downgrade() -> None:
    op.drop_table('fraud_cases')
