"""users: the administration log (who changed which user how)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('change', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_user_changes_username', 'user_changes', ['username', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_user_changes_username', table_name='user_changes')
    op.drop_table('user_changes')
