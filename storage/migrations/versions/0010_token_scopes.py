"""API tokens have scopes: what each may do with the ingest API.

`api_tokens.scopes` holds the token's scopes, comma-separated, from `ingest` (post points),
`read` (read series and scores) and `admin` (configure series). Tokens made before have all
three: they keep doing what they could.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("scopes", sa.Text, nullable=False, server_default="ingest,read,admin")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", recreate="never") as batch:
        batch.drop_column("scopes")
