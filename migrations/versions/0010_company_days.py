"""company_days: the hand-typed holidays table becomes the company's own days, closed or opened; China's
statutory holidays and adjusted working days now come from the chinese-calendar package

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows kept: a day someone typed in as closed stays closed, now as a company day.
    op.rename_table('holidays', 'company_days')
    with op.batch_alter_table('company_days') as batch:
        batch.add_column(sa.Column('working', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM company_days WHERE working"))
    with op.batch_alter_table('company_days') as batch:
        batch.drop_column('working')
    op.rename_table('company_days', 'holidays')
