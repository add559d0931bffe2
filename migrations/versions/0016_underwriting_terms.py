"""underwriting terms: the exclusion an acceptance carries, and the policy's exclusions

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-07 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('underwriting_outcomes', sa.Column('exclusion', sa.Text(), nullable=True))
    op.add_column('policies', sa.Column('exclusions', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('policies') as batch:
        batch.drop_column('exclusions')
    with op.batch_alter_table('underwriting_outcomes') as batch:
        batch.drop_column('exclusion')
