"""Login throttling: failed sign-in attempts per account and per source address.

Revision ID: 0003
Revises: 0002 (chained after the pipeline migration; the brief said 0001, see the report)
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope_key", sa.String(80), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_login_attempts_scope_key_attempted_at", "login_attempts", ["scope_key", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_login_attempts_scope_key_attempted_at", table_name="login_attempts")
    op.drop_table("login_attempts")
