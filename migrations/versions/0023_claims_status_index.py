"""claims_status_index: claims by status and closing time, for the managers' dashboard

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 04:00:00
"""

from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_status_closed', ['status', 'closed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_status_closed')
