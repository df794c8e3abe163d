"""Actions carry an optional request id chosen by the client, unique per user, so a client
can repeat ``POST /failover/execute`` after a lost answer without requesting twice.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("request_id", sa.String(100), nullable=True))
    op.create_index("ux_actions_request_id", "actions", ["user_id", "request_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_actions_request_id", "actions")
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("request_id")
