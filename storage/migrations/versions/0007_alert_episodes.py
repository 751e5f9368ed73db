"""Alerts are about episodes, not points: `alert_episodes` replaces `alert_points`.

An alert rule records one row per episode of a series (key: rule, series, the episode's start
time), updated as the episode grows; `email_id` is the email that announced it and
`ended_email_id` the one that said it was over (the announcing email itself when the episode
had ended by then). `alerts.dataset_name` is the data set's name for emails to show.

Each recorded point becomes a one-point episode with its email. Points of an alert still
firing keep no `ended_email_id`, so the one "resolved" email that alert is owed names them;
every other point was already announced and resolved the old way. Downgrading keeps each
episode's peak as a point.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_episodes",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.Integer, nullable=False),
        sa.Column("series", sa.Text, nullable=False),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("dataset_name", sa.Text),
        sa.Column("start_at", sa.Text, nullable=False),
        sa.Column("end_at", sa.Text, nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("peak_at", sa.Text, nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("expected", sa.Double),
        sa.Column("severity", sa.Double, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("open", sa.Integer, nullable=False),
        sa.Column("qualified", sa.Integer, nullable=False),
        sa.Column("recorded", sa.Double, nullable=False),
        sa.Column("updated", sa.Double, nullable=False),
        sa.Column("email_id", sa.BigInteger),
        sa.Column("ended_email_id", sa.BigInteger),
        sa.UniqueConstraint("rule_id", "series", "start_at"),
        sqlite_autoincrement=True,
    )
    op.create_index("alert_episodes_waiting", "alert_episodes", ["rule_id", "series", "email_id"])
    op.execute(
        "INSERT INTO alert_episodes (rule_id, series, dataset, start_at, end_at, points, "
        "peak_at, value, expected, severity, explanation, open, qualified, recorded, updated, "
        "email_id, ended_email_id) "
        "SELECT p.rule_id, p.series, COALESCE(a.dataset, ''), p.timestamp, p.timestamp, 1, "
        "p.timestamp, p.value, p.expected, p.severity, p.explanation, 0, 1, p.recorded, "
        "p.recorded, p.email_id, "
        "CASE WHEN a.status = 'firing' AND p.email_id > 0 THEN NULL ELSE p.email_id END "
        "FROM alert_points p LEFT JOIN alerts a "
        "ON a.rule_id = p.rule_id AND a.series = p.series"
    )
    op.drop_index("alert_points_waiting", table_name="alert_points")
    op.drop_table("alert_points")
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("dataset_name", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("alerts", recreate="never") as batch:
        batch.drop_column("dataset_name")
    op.create_table(
        "alert_points",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.Integer, nullable=False),
        sa.Column("series", sa.Text, nullable=False),
        sa.Column("timestamp", sa.Text, nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("expected", sa.Double),
        sa.Column("severity", sa.Double, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("recorded", sa.Double, nullable=False),
        sa.Column("email_id", sa.BigInteger),
        sa.UniqueConstraint("rule_id", "series", "timestamp"),
    )
    op.create_index("alert_points_waiting", "alert_points", ["rule_id", "series", "email_id"])
    # each episode's peak, the point its emails led with
    op.execute(
        "INSERT INTO alert_points (rule_id, series, timestamp, value, expected, severity, "
        "explanation, recorded, email_id) SELECT rule_id, series, peak_at, value, expected, "
        "severity, explanation, recorded, email_id FROM alert_episodes WHERE qualified = 1"
    )
    op.drop_index("alert_episodes_waiting", table_name="alert_episodes")
    op.drop_table("alert_episodes")
