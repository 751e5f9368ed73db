"""Alert rules match labels and know where they came from.

`rules.labels` holds the rule's label matchers (`["env=prod", "service=~web|api"]`, JSON);
rules that exist have none, so they watch what they watched. `rules.source` is `file` for a
rule made by `vigil rules apply`, NULL for one made on the Alerts page or over the API.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rules") as batch:
        batch.add_column(sa.Column("labels", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("source", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("rules", recreate="never") as batch:
        batch.drop_column("source")
        batch.drop_column("labels")
