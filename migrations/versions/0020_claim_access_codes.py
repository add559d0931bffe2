"""claim access codes: the keyed hash of each claim's access code, and the claimant's notes to the clerk

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Claims opened before this have no code: staff re-send the acknowledgement (`insureflow claim-code`).
    with op.batch_alter_table('claims') as batch:
        batch.add_column(sa.Column('access_code_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('access_code_issued_at', sa.DateTime(), nullable=True))
    op.create_table(
        'claimant_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['claim_id'], ['claims.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_claimant_notes_claim_id', 'claimant_notes', ['claim_id'])
    op.create_index('ix_claimant_notes_instance_id', 'claimant_notes', ['instance_id'])


def downgrade() -> None:
    op.drop_table('claimant_notes')
    with op.batch_alter_table('claims') as batch:
        batch.drop_column('access_code_issued_at')
        batch.drop_column('access_code_hash')
