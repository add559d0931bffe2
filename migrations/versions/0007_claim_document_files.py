"""claim_documents: uploaded files (encrypted), several per kind, owned by the case before the claim exists

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# 0002 left the (claim_id, kind) unique key unnamed: PostgreSQL named it itself; on SQLite the batch
# copy names the reflected key by this convention so that it can be dropped.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _unique_name() -> str:
    return "uq_claim_documents_claim_id_kind" if op.get_bind().dialect.name == "sqlite" \
        else "claim_documents_claim_id_kind_key"


def upgrade() -> None:
    with op.batch_alter_table('claim_documents', naming_convention=_SQLITE_NAMES) as batch:
        batch.drop_constraint(_unique_name(), type_='unique')
        batch.alter_column('claim_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('instance_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('content_type', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('size', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('uploaded_by', sa.String(length=80), nullable=True))
        batch.create_index('ix_claim_documents_instance_id', ['instance_id'], unique=False)
    # Documents recorded before this revision belong to their claim's case.
    op.execute("UPDATE claim_documents SET instance_id = (SELECT claims.instance_id FROM claims "
               "WHERE claims.id = claim_documents.claim_id) WHERE claim_id IS NOT NULL")


def downgrade() -> None:
    # The old table holds one row per claim and kind, always with a claim: files not yet linked to a
    # claim and further files of a kind cannot be kept.
    op.execute("DELETE FROM claim_documents WHERE claim_id IS NULL")
    op.execute("DELETE FROM claim_documents WHERE id NOT IN (SELECT MIN(id) FROM claim_documents "
               "GROUP BY claim_id, kind)")
    with op.batch_alter_table('claim_documents', naming_convention=_SQLITE_NAMES) as batch:
        batch.drop_index('ix_claim_documents_instance_id')
        batch.drop_column('uploaded_by')
        batch.drop_column('sha256')
        batch.drop_column('size')
        batch.drop_column('content_type')
        batch.drop_column('instance_id')
        batch.alter_column('claim_id', existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(_unique_name(), ['claim_id', 'kind'])
