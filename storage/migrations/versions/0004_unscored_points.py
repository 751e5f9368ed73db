"""Scorers find what is left to score by the points not scored yet, in the order they came,
not by the last id they read: drop the saved last id, index unscored points by id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("points_unscored", table_name="points")
    op.create_index(
        "points_unscored",
        "points",
        ["id"],
        sqlite_where=sa.text("scored IS NULL"),
        postgresql_where=sa.text("scored IS NULL"),
    )
    with op.batch_alter_table("live_progress") as batch:
        batch.drop_column("after")


def downgrade() -> None:
    with op.batch_alter_table("live_progress") as batch:
        batch.add_column(sa.Column("after", sa.BigInteger, nullable=False, server_default="0"))
    op.drop_index("points_unscored", table_name="points")
    op.create_index(
        "points_unscored",
        "points",
        ["series"],
        sqlite_where=sa.text("scored IS NULL"),
        postgresql_where=sa.text("scored IS NULL"),
    )
