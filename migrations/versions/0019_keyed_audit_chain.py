"""keyed audit chain: each event names the audit key it was chained with and the keyed hash of the state it left

Events before this migration keep both empty: they were chained by the legacy unkeyed sha256 rule, which
`verify` still applies to them up to their chain's first keyed event.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('state_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.drop_column('state_hash')
        batch.drop_column('key_id')
