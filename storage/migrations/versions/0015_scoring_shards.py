"""Live scoring's progress is kept per shard: `live_progress` holds a row for each shard's
generation (row 1 for scoring that is not split), no longer one row only.

The table holds nothing but which save is the latest, so it is made again empty: each
scoring chain then loads the saved states once, as after any other worker's save.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _progress(*constraints: sa.CheckConstraint) -> None:
    op.drop_table("live_progress")
    op.create_table(
        "live_progress",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.Text, nullable=False),
        sa.Column("saved", sa.Double, nullable=False),
        *constraints,
    )


def upgrade() -> None:
    _progress()


def downgrade() -> None:
    _progress(sa.CheckConstraint("id = 1", name="live_progress_one_row"))
