"""beneficiaries: the named beneficiaries of a policy and the endorsements changing them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'policy_beneficiaries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('policy_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('id_number_enc', sa.LargeBinary(), nullable=False),
        sa.Column('id_number_hash', sa.String(length=64), nullable=False),
        sa.Column('relation', sa.String(length=20), nullable=False),
        sa.Column('share', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('designated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['policy_id'], ['policies.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_policy_beneficiaries_policy_id', 'policy_beneficiaries', ['policy_id'])
    op.create_index('ix_policy_beneficiaries_id_number_hash', 'policy_beneficiaries', ['id_number_hash'])
    op.create_table(
        'beneficiary_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('policy_id', sa.Integer(), nullable=False),
        sa.Column('changed_by', sa.String(length=100), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('before', sa.JSON(), nullable=False),
        sa.Column('after', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['policy_id'], ['policies.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_beneficiary_changes_policy_id', 'beneficiary_changes', ['policy_id'])


def downgrade() -> None:
    op.drop_table('beneficiary_changes')
    op.drop_table('policy_beneficiaries')
