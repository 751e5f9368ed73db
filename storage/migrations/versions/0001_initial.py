"""Live series and points, alert rules, alert state and history, the outbox, marks on points
and API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: Point ids: a 64-bit counter in Postgres; SQLite's rowid (only INTEGER is an alias of it).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("detector", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("model", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("error", sa.Text),
        sa.Column("created", sa.Double, nullable=False),
    )
    op.create_table(
        "points",
        # AUTOINCREMENT in SQLite: a deleted point's id is never given again, so the scorer,
        # which reads ids after the last it saw, misses no corrected point
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("series", sa.Integer, sa.ForeignKey("series.id"), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("received", sa.Double, nullable=False),
        sa.Column("scored", sa.Double),
        sa.Column("score", sa.Double),
        sa.Column("severity", sa.Double),
        sa.Column("is_anomaly", sa.Integer),
        sa.Column("expected", sa.Double),
        sa.Column("lower", sa.Double),
        sa.Column("upper", sa.Double),
        sa.Column("explanation", sa.Text),
        sa.UniqueConstraint("series", "ts"),
        sqlite_autoincrement=True,
    )
    op.create_index("points_flagged", "points", ["series", "is_anomaly", "ts"])
    op.create_index(
        "points_unscored",
        "points",
        ["series"],
        sqlite_where=sa.text("scored IS NULL"),
        postgresql_where=sa.text("scored IS NULL"),
    )

    op.create_table(
        "rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("series_pattern", sa.Text, nullable=False),
        sa.Column("detector", sa.Text, nullable=False),
        sa.Column("min_severity", sa.Double, nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("group_minutes", sa.Double, nullable=False),
        sa.Column("resolve_minutes", sa.Double, nullable=False),
        sa.Column("daily_budget", sa.Integer, nullable=False),
        sa.Column("paused", sa.Integer, nullable=False, server_default="0"),
        sa.Column("silenced_until", sa.Text),
        sa.Column("created", sa.Text, nullable=False),
        sa.CheckConstraint("min_severity BETWEEN 0 AND 1", name="rules_min_severity"),
        sa.CheckConstraint("group_minutes >= 0", name="rules_group_minutes"),
        sa.CheckConstraint("resolve_minutes > 0", name="rules_resolve_minutes"),
        sa.CheckConstraint("daily_budget >= 0", name="rules_daily_budget"),
    )
    op.create_table(
        "silences",
        sa.Column("rule_id", sa.Integer, primary_key=True),
        sa.Column("series", sa.Text, primary_key=True),
        sa.Column("until", sa.Text, nullable=False),
    )
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
    op.create_table(
        "alerts",
        sa.Column("rule_id", sa.Integer, primary_key=True),
        sa.Column("series", sa.Text, primary_key=True),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened", sa.Double, nullable=False),
        sa.Column("last_flag", sa.Double, nullable=False),
        sa.Column("last_email", sa.Double),
        sa.CheckConstraint("status IN ('firing', 'resolved')", name="alerts_status"),
    )
    op.create_table(
        "emails_a_day",
        sa.Column("rule_id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Text, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )

    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.Text, nullable=False, unique=True),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt", sa.Double, nullable=False),
        sa.Column("lease_until", sa.Double),
        sa.Column("claimed_by", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", sa.Text),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')", name="outbox_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("outbox_due", "outbox", ["status", "next_attempt"])

    op.create_table(
        "marks",
        sa.Column("dataset_id", sa.Text, primary_key=True),
        sa.Column("series", sa.Text, primary_key=True),
        sa.Column("timestamp", sa.Text, primary_key=True),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("created", sa.Text, nullable=False),
        sa.CheckConstraint("verdict IN ('normal', 'anomaly')", name="marks_verdict"),
    )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("digest", sa.Text, nullable=False, unique=True),
        sa.Column("hint", sa.Text, nullable=False),
        sa.Column("made_by", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("last_used", sa.Double),
        sa.Column("revoked", sa.Double),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in (
        "api_tokens",
        "marks",
        "outbox",
        "emails_a_day",
        "alerts",
        "alert_points",
        "silences",
        "rules",
        "points",
        "series",
    ):
        op.drop_table(table)
