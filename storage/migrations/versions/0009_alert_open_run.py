"""An alert remembers the stored result its emails open.

`alerts.open_run` holds, as JSON, the Analyze page's fields for the result of the run that
flagged the series (detector, result key, online), so that every email about the incident,
also those sent later (grouped, over the daily budget, or saying it resolved), opens that
result instead of running the detector again. NULL: the emails open the series' page.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("open_run", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("alerts", recreate="never") as batch:
        batch.drop_column("open_run")
