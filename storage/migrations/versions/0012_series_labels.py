"""Live series have labels (`host`, `service`, `env`, ...), Prometheus-style.

`series.labels` holds them as JSON, an object of names to text values sorted by name; series
that exist have none.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("labels", sa.Text, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("series", recreate="never") as batch:
        batch.drop_column("labels")
