"""human tasks: inbox indexes over open tasks only, in page order (a non-null due-date sort key);
events: no index that repeats the unique (instance_id, seq) one

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:00:00
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"
# engine.workflow.models.NO_DUE_DATE as stored (naive UTC)
NO_DUE_DATE = datetime(9999, 12, 31)
INDEXES = {
    'ix_human_tasks_open_role_due': ['candidate_role', 'due_sort', sa.text('priority DESC'), 'id', 'assignee'],
    'ix_human_tasks_open_role_priority': ['candidate_role', sa.text('priority DESC'), 'due_sort', 'id', 'assignee'],
    'ix_human_tasks_open_assignee_due': ['assignee', 'due_sort', sa.text('priority DESC'), 'id'],
    'ix_human_tasks_open_assignee_priority': ['assignee', sa.text('priority DESC'), 'due_sort', 'id'],
}


def upgrade() -> None:
    with op.batch_alter_table('human_tasks') as batch:
        batch.add_column(sa.Column('due_sort', sa.DateTime(), nullable=True))
    op.execute(sa.text("UPDATE human_tasks SET due_sort = COALESCE(due_at, :none)").bindparams(none=NO_DUE_DATE))
    with op.batch_alter_table('human_tasks') as batch:
        batch.alter_column('due_sort', existing_type=sa.DateTime(), nullable=False)
        batch.drop_index('ix_human_tasks_role_inbox')
        batch.drop_index('ix_human_tasks_assignee_inbox')
        # the unique (instance_id, spiff_task_id) index serves look-ups by instance
        batch.drop_index('ix_human_tasks_instance_id')
    for name, columns in INDEXES.items():
        op.create_index(name, 'human_tasks', columns, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.drop_index('ix_events_instance_id', table_name='events')


def downgrade() -> None:
    op.create_index('ix_events_instance_id', 'events', ['instance_id'], unique=False)
    for name in INDEXES:
        op.drop_index(name, table_name='human_tasks')
    with op.batch_alter_table('human_tasks') as batch:
        batch.create_index('ix_human_tasks_role_inbox', ['status', 'candidate_role', 'due_at'], unique=False)
        batch.create_index('ix_human_tasks_assignee_inbox', ['status', 'assignee', 'due_at'], unique=False)
        batch.create_index('ix_human_tasks_instance_id', ['instance_id'], unique=False)
        batch.drop_column('due_sort')
