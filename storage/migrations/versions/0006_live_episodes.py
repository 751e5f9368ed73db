"""Live points keep their episode and onset; a series keeps how long it has yet to learn.

`points.episode` is the id of the episode a flagged point belongs to (NULL when the point is
not flagged), `points.onset` is 1 at an episode's first point. `series.learning_left` is the
points still to come before the series can be flagged, as of its point at `learning_at` (ns),
and `series.step_seconds` its time step: the scorer writes them with the scores, so any process
can show them. Points scored before this revision keep a NULL episode (they are not labelled
after the fact: an episode is what the scorer saw as the points came).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("points") as batch:
        batch.add_column(sa.Column("episode", sa.BigInteger))
        batch.add_column(sa.Column("onset", sa.Integer))
    # an episode's points, for its start and peak: flagged points only, so a small index
    op.create_index(
        "points_episode",
        "points",
        ["series", "episode"],
        sqlite_where=sa.text("episode IS NOT NULL"),
        postgresql_where=sa.text("episode IS NOT NULL"),
    )
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("learning_left", sa.Integer))
        batch.add_column(sa.Column("learning_at", sa.BigInteger))
        batch.add_column(sa.Column("step_seconds", sa.Double))


def downgrade() -> None:
    # dropped in place (SQLite 3.35 has DROP COLUMN): a copied points table would lose the
    # AUTOINCREMENT that keeps deleted point ids from being given again
    with op.batch_alter_table("series", recreate="never") as batch:
        batch.drop_column("step_seconds")
        batch.drop_column("learning_at")
        batch.drop_column("learning_left")
    op.drop_index("points_episode", table_name="points")
    with op.batch_alter_table("points", recreate="never") as batch:
        batch.drop_column("onset")
        batch.drop_column("episode")
