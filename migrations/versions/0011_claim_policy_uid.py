"""claims.uid and policies.uid: a random identity committed with each row, part of payment keys

Claim and policy numbers (and SQLite row ids) of a rolled-back insert are given again to the next row;
a payment key made of the number alone could then match a payment made for the row that was rolled
back. Existing rows get their uid here. The column stays nullable in the schema — NOT NULL would
rebuild both tables on SQLite, which the foreign keys on them refuse — and every insert takes the
model's default; the unique index keeps each uid to one row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 04:40:00
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in ('policies', 'claims'):
        op.add_column(table, sa.Column('uid', sa.String(length=32), nullable=True))
        rows = sa.table(table, sa.column('id', sa.Integer), sa.column('uid', sa.String))
        for (row_id,) in bind.execute(sa.select(rows.c.id)).all():
            bind.execute(rows.update().where(rows.c.id == row_id).values(uid=uuid.uuid4().hex))
        op.create_index(f'ix_{table}_uid', table, ['uid'], unique=True)


def downgrade() -> None:
    for table in ('claims', 'policies'):
        op.drop_index(f'ix_{table}_uid', table_name=table)
        op.drop_column(table, 'uid')  # a plain ALTER TABLE: a batch rebuild would break the foreign keys
