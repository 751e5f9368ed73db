"""The schema in code: every table of the newest migration, as SQLAlchemy Core tables.

The migrations (`vigil.storage.migrations`) make and upgrade databases; this module says what
they end in, in one place a reader can take in. `make lint` and a test on SQLite and Postgres
compare the two (`vigil.storage.schema_check`), so neither can change without the other.
Times are kept as text (ISO 8601, UTC) or as seconds or nanoseconds since the epoch, as the
column's comment in the stores says; flags are integers 0 and 1.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Row ids that outgrow 32 bits on Postgres; SQLite's rowid is 64 bits already.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

# -- live series ------------------------------------------------------------------------------

series = sa.Table(
    "series",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("detector", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("model", sa.Text),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("error", sa.Text),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("learning_left", sa.Integer),
    sa.Column("learning_at", sa.BigInteger),
    sa.Column("step_seconds", sa.Double),
    sa.Column("rolled_until", sa.BigInteger),
    sa.Column("labels", sa.Text, nullable=False, server_default="{}"),
)

points = sa.Table(
    "points",
    metadata,
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
    sa.Column("episode", sa.BigInteger),
    sa.Column("onset", sa.Integer),
    sa.Column("first_received", sa.Double),
    sa.UniqueConstraint("series", "ts"),
    sa.Index("points_flagged", "series", "is_anomaly", "ts"),
    # the points waiting to be scored, and an episode's points: small partial indexes
    sa.Index(
        "points_unscored",
        "id",
        sqlite_where=sa.text("scored IS NULL"),
        postgresql_where=sa.text("scored IS NULL"),
    ),
    sa.Index(
        "points_episode",
        "series",
        "episode",
        sqlite_where=sa.text("episode IS NOT NULL"),
        postgresql_where=sa.text("episode IS NOT NULL"),
    ),
)

#: Each minute of a series' scored points, summed for charts of long windows
#: (`live.rollups`): `bucket` is the minute (ts // 60 s in ns); every minute before the
#: series' `rolled_until` minute is summed here, the minutes from there on are not yet.
point_rollups = sa.Table(
    "point_rollups",
    metadata,
    sa.Column("series", sa.Integer, sa.ForeignKey("series.id"), primary_key=True),
    sa.Column("bucket", sa.BigInteger, primary_key=True),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("first", sa.BigInteger, nullable=False),
    sa.Column("last", sa.BigInteger, nullable=False),
    sa.Column("low", sa.Double, nullable=False),
    sa.Column("high", sa.Double, nullable=False),
    sa.Column("lower", sa.Double),
    sa.Column("upper", sa.Double),
    sa.Column("expected_sum", sa.Double),
    sa.Column("expected_points", sa.Integer, nullable=False),
    sa.Column("severity", sa.Double),
)

live_scorers = sa.Table(
    "live_scorers",
    metadata,
    sa.Column("series_id", sa.Integer, primary_key=True),
    sa.Column("state", sa.LargeBinary, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("saved", sa.Double, nullable=False),
)

live_progress = sa.Table(
    "live_progress",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("generation", sa.Text, nullable=False),
    sa.Column("saved", sa.Double, nullable=False),
)

# -- alerts -----------------------------------------------------------------------------------

rules = sa.Table(
    "rules",
    metadata,
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
    sa.Column("dataset", sa.Text),
    sa.Column("direction", sa.Text, nullable=False, server_default="either"),
    sa.Column("labels", sa.Text, nullable=False, server_default="[]"),
    sa.Column("source", sa.Text),
    sa.Column("webhooks", sa.Text, nullable=False, server_default="[]"),
    sa.CheckConstraint("min_severity BETWEEN 0 AND 1", name="rules_min_severity"),
    sa.CheckConstraint("group_minutes >= 0", name="rules_group_minutes"),
    sa.CheckConstraint("resolve_minutes > 0", name="rules_resolve_minutes"),
    sa.CheckConstraint("daily_budget >= 0", name="rules_daily_budget"),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("rule_id", sa.Integer, primary_key=True),
    sa.Column("series", sa.Text, primary_key=True),
    sa.Column("until", sa.Text, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("rule_id", sa.Integer, primary_key=True),
    sa.Column("series", sa.Text, primary_key=True),
    sa.Column("dataset", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("opened", sa.Double, nullable=False),
    sa.Column("last_flag", sa.Double, nullable=False),
    sa.Column("last_email", sa.Double),
    sa.Column("dataset_name", sa.Text),
    sa.Column("open_run", sa.Text),
    sa.CheckConstraint("status IN ('firing', 'resolved')", name="alerts_status"),
)

alert_episodes = sa.Table(
    "alert_episodes",
    metadata,
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
    sa.Index("alert_episodes_waiting", "rule_id", "series", "email_id"),
)

emails_a_day = sa.Table(
    "emails_a_day",
    metadata,
    sa.Column("rule_id", sa.Integer, primary_key=True),
    sa.Column("day", sa.Text, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
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
    sa.Column("kind", sa.Text, nullable=False, server_default="email"),
    sa.Column("target", sa.Text),
    sa.Column("after_id", sa.BigInteger),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="outbox_status"),
    sa.Index("outbox_due", "status", "next_attempt"),
)

# -- data sets, marks, tokens, settings ----------------------------------------------------------

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("info", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Index("datasets_created", "created"),
)

marks = sa.Table(
    "marks",
    metadata,
    sa.Column("dataset_id", sa.Text, primary_key=True),
    sa.Column("series", sa.Text, primary_key=True),
    sa.Column("timestamp", sa.Text, primary_key=True),
    sa.Column("verdict", sa.Text, nullable=False),
    sa.Column("value", sa.Double),
    sa.Column("created", sa.Text, nullable=False),
    sa.CheckConstraint("verdict IN ('normal', 'anomaly')", name="marks_verdict"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("digest", sa.Text, nullable=False, unique=True),
    sa.Column("hint", sa.Text, nullable=False),
    sa.Column("made_by", sa.Text, nullable=False),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("last_used", sa.Double),
    sa.Column("revoked", sa.Double),
    sa.Column("scopes", sa.Text, nullable=False, server_default="ingest,read,admin"),
)

app_settings = sa.Table(
    "app_settings",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("changed_by", sa.Text, nullable=False),
    sa.Column("changed", sa.Double, nullable=False),
)
