"""refund accounts: the premium's originating account (its hash; 0015 added it encrypted), holders' verified
accounts, staff accounts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('premium_payments') as batch:
        batch.add_column(sa.Column('payer_account_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('instance_id', sa.Integer(), nullable=True))
        batch.create_index('ix_premium_payments_instance_id', ['instance_id'])
    op.create_table(
        'holder_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('account_enc', sa.LargeBinary(), nullable=False),
        sa.Column('account_hash', sa.String(length=64), nullable=False),
        sa.Column('verified_by', sa.String(length=80), nullable=False),
        sa.Column('verified_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_holder_accounts_customer_id', 'holder_accounts', ['customer_id'])
    op.create_index('ix_holder_accounts_account_hash', 'holder_accounts', ['account_hash'])
    op.create_table(
        'staff_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('account_enc', sa.LargeBinary(), nullable=False),
        sa.Column('account_hash', sa.String(length=64), nullable=False),
        sa.Column('registered_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_staff_accounts_username', 'staff_accounts', ['username'])
    op.create_index('ix_staff_accounts_account_hash', 'staff_accounts', ['account_hash'], unique=True)


def downgrade() -> None:
    op.drop_table('staff_accounts')
    op.drop_table('holder_accounts')
    with op.batch_alter_table('premium_payments') as batch:
        batch.drop_index('ix_premium_payments_instance_id')
        batch.drop_column('instance_id')
        batch.drop_column('payer_account_hash')
