"""sales money controls: premiums in suspense, suspicious-transaction and large-cash reports, premium
refunds, and the day the holder received the policy documents

A premium is held in suspense (not income) until AML screening or compliance clears it; a premium the
insurer does not keep is refunded to the account it came from. Rows that exist already were taken
before this control and count as cleared.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-07 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('premium_payments', sa.Column('status', sa.String(length=20), server_default='cleared',
                                                nullable=False))
    op.add_column('premium_payments', sa.Column('payer_account_enc', sa.LargeBinary(), nullable=True))
    op.add_column('policies', sa.Column('documents_received_on', sa.Date(), nullable=True))
    op.create_table(
        'suspicious_transaction_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=24), nullable=False),
        sa.Column('idempotency_key', sa.String(length=120), nullable=False),
        sa.Column('premium_payment_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('rule', sa.String(length=200), nullable=False),
        sa.Column('grounds', sa.Text(), nullable=False),
        sa.Column('filed_by', sa.String(length=80), nullable=True),
        sa.Column('filed_at', sa.DateTime(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['premium_payment_id'], ['premium_payments.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
        sa.UniqueConstraint('reference'),
    )
    op.create_index('ix_suspicious_transaction_reports_premium_payment_id', 'suspicious_transaction_reports',
                    ['premium_payment_id'])
    op.create_index('ix_suspicious_transaction_reports_customer_id', 'suspicious_transaction_reports',
                    ['customer_id'])
    op.create_table(
        'large_cash_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=24), nullable=False),
        sa.Column('payer_hash', sa.String(length=64), nullable=False),
        sa.Column('payer_name', sa.String(length=100), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('cash_total', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('premium_payment_id', sa.Integer(), nullable=False),
        sa.Column('reported_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['premium_payment_id'], ['premium_payments.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('payer_hash', 'day'),
        sa.UniqueConstraint('reference'),
    )
    op.create_table(
        'premium_refunds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=120), nullable=False),
        sa.Column('premium_payment_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('payee_account_enc', sa.LargeBinary(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('gateway_ref', sa.String(length=80), nullable=True),
        sa.Column('failure', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['premium_payment_id'], ['premium_payments.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
    )
    op.create_index('ix_premium_refunds_premium_payment_id', 'premium_refunds', ['premium_payment_id'])


def downgrade() -> None:
    op.drop_table('premium_refunds')
    op.drop_table('large_cash_reports')
    op.drop_table('suspicious_transaction_reports')
    op.drop_column('policies', 'documents_received_on')  # plain ALTER TABLE: a batch rebuild breaks the FKs
    op.drop_column('premium_payments', 'payer_account_enc')
    op.drop_column('premium_payments', 'status')
