"""Job pipeline: chunk bookkeeping, fan-out and assembly claims, retry and purge stamps.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generation_chunks",
        sa.Column(
            "generation_id",
            sa.String(40),
            sa.ForeignKey("generations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("chunk_index", sa.Integer(), primary_key=True),
        sa.Column("row_offset", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("part_key", sa.String(512), nullable=False),
        sa.Column("part_bytes", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("generations") as batch:
        batch.add_column(sa.Column("chunk_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("chunks_done", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("fanned_out_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("finalizing_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("requeues", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("purged_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("purged_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("purged_at")
        batch.drop_column("last_error")
    with op.batch_alter_table("generations") as batch:
        for name in (
            "purged_at",
            "last_error",
            "requeues",
            "finalizing_at",
            "fanned_out_at",
            "chunks_done",
            "chunk_count",
        ):
            batch.drop_column(name)
    op.drop_table("generation_chunks")
