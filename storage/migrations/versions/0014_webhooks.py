"""Rules notify webhooks, and the outbox keeps their calls beside emails.

`rules.webhooks` holds a rule's webhooks as JSON (`[{"url": ..., "format": "json"}]`); rules
that exist have none. `outbox.kind` is `email` or `webhook`: what is there is email.
`outbox.target` is a webhook call's address (NULL for an email, whose recipients are in the
message); `outbox.after_id` the call it waits for (an episode's "resolved" waits for its
"opened" to be sent or to fail), NULL for none.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rules") as batch:
        batch.add_column(sa.Column("webhooks", sa.Text, nullable=False, server_default="[]"))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.Text, nullable=False, server_default="email"))
        batch.add_column(sa.Column("target", sa.Text))
        batch.add_column(sa.Column("after_id", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("outbox", recreate="never") as batch:
        batch.drop_column("after_id")
        batch.drop_column("target")
        batch.drop_column("kind")
    with op.batch_alter_table("rules", recreate="never") as batch:
        batch.drop_column("webhooks")
