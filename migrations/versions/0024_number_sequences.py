"""number_sequences: a counter row per numbering series (claim numbers of a day), seeded from the claims
already numbered

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'number_sequences',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    # Claim numbers are "C" + yyyymmdd + a 6-digit sequence of the day.
    op.execute("INSERT INTO number_sequences (name, value) "
               "SELECT 'claim:' || substr(number, 2, 8), max(CAST(substr(number, 10) AS INTEGER)) FROM claims "
               "WHERE number LIKE 'C%' AND length(number) = 15 GROUP BY substr(number, 2, 8)")


def downgrade() -> None:
    op.drop_table('number_sequences')
