"""Alert rules watch each series with its own detector, may keep to a data set and a
direction, and alert on no live point that came before them.

`rules.detector` is '' for "the detector (or model) the series is scored by"; rules that had
the old default, 'auto', get it, since 'auto' there only ever meant "the default" and left the
rule silent for every series scored otherwise. `rules.dataset` (NULL: any data set, `live`: the
live series) and `rules.direction` (`either`, `above`, `below`) are new; old rules get any data
set and either direction, so they watch what they watched before, and more. Downgrading gives
the series' own detector back as 'auto'.

`points.first_received` is when a point sent again with a corrected value first came (NULL for
a point never corrected: it first came when `received` says), so that a rule alerts on no
point that came before it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rules") as batch:
        batch.add_column(sa.Column("dataset", sa.Text))
        batch.add_column(sa.Column("direction", sa.Text, nullable=False, server_default="either"))
    op.execute("UPDATE rules SET detector = '' WHERE detector = 'auto'")
    with op.batch_alter_table("points") as batch:
        batch.add_column(sa.Column("first_received", sa.Double))


def downgrade() -> None:
    with op.batch_alter_table("points", recreate="never") as batch:
        batch.drop_column("first_received")
    op.execute("UPDATE rules SET detector = 'auto' WHERE detector = ''")
    with op.batch_alter_table("rules", recreate="never") as batch:
        batch.drop_column("direction")
        batch.drop_column("dataset")
