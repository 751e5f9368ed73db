"""Live series' points summed a minute at a time, for charts of long windows.

`point_rollups` holds, per series and minute, how many scored points it has, its first and
last time, its lowest and highest value, the widest expected band, the sum of the expected
values and the highest severity. `series.rolled_until` is the first minute not summed: the
scorer sums points as it scores them. Series that exist are summed here, to their latest
scored point.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MINUTE = 60_000_000_000


def upgrade() -> None:
    op.create_table(
        "point_rollups",
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
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("rolled_until", sa.BigInteger))
    op.execute(
        f"UPDATE series SET rolled_until = (SELECT MAX(ts) / {MINUTE} + 1 FROM points "
        "WHERE points.series = series.id AND points.scored IS NOT NULL)"
    )
    op.execute(
        "INSERT INTO point_rollups (series, bucket, points, first, last, low, high, lower, "
        "upper, expected_sum, expected_points, severity) "
        f"SELECT p.series, p.ts / {MINUTE}, COUNT(*), MIN(p.ts), MAX(p.ts), MIN(p.value), "
        "MAX(p.value), MIN(p.lower), MAX(p.upper), SUM(p.expected), COUNT(p.expected), "
        "MAX(p.severity) FROM points p JOIN series s ON s.id = p.series "
        f"WHERE p.scored IS NOT NULL AND p.ts / {MINUTE} < s.rolled_until "
        f"GROUP BY p.series, p.ts / {MINUTE}"
    )


def downgrade() -> None:
    with op.batch_alter_table("series", recreate="never") as batch:
        batch.drop_column("rolled_until")
    op.drop_table("point_rollups")
