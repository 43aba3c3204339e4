"""queues, quotas, retries, timeouts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 18:24:59.371217
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('queues',
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('concurrency', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('quotas',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=150), nullable=False),
    sa.Column('runs', sa.Integer(), nullable=True),
    sa.Column('cpu', sa.Double(), nullable=True),
    sa.Column('memory', sa.Double(), nullable=True),
    sa.Column('gpu', sa.Double(), nullable=True),
    sa.Column('share', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject')
    )
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user', sa.String(length=150), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cpu', sa.Double(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('memory', sa.Double(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('gpu', sa.Double(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('max_retries', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('timeout', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('ttl', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('cleaned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('stop_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('resubmission', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_column('resubmission')
        batch_op.drop_column('stop_reason')
        batch_op.drop_column('cleaned_at')
        batch_op.drop_column('ttl')
        batch_op.drop_column('timeout')
        batch_op.drop_column('retry_at')
        batch_op.drop_column('attempt')
        batch_op.drop_column('max_retries')
        batch_op.drop_column('gpu')
        batch_op.drop_column('memory')
        batch_op.drop_column('cpu')
        batch_op.drop_column('priority')
        batch_op.drop_column('user')

    op.drop_table('quotas')
    op.drop_table('queues')
