"""Live scorers' saved states, so any worker can go on scoring where another stopped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_scorers",
        sa.Column("series_id", sa.Integer, primary_key=True),
        sa.Column("state", sa.LargeBinary, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("saved", sa.Double, nullable=False),
    )
    op.create_table(
        "live_progress",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("after", sa.BigInteger, nullable=False),
        sa.Column("generation", sa.Text, nullable=False),
        sa.Column("saved", sa.Double, nullable=False),
        sa.CheckConstraint("id = 1", name="live_progress_one_row"),
    )


def downgrade() -> None:
    op.drop_table("live_progress")
    op.drop_table("live_scorers")
