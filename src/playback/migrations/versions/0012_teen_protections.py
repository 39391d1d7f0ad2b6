"""teen protections: time zones, screen time, passcodes, comment audience, quiet hours,
family pairing; per-creator comment filters (held comments)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from playback.kit.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("time_zone", sa.String(64), server_default="UTC", nullable=False)
    )
    op.add_column("users", sa.Column("screen_time_minutes", sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("screen_passcode_hash", sa.String(255), nullable=True))
    op.add_column("users", sa.Column("screen_unlocked_on", sa.Date(), nullable=True))
    op.add_column("users", sa.Column("comment_audience", sa.String(10), nullable=True))
    op.add_column(
        "users",
        sa.Column("comment_filter", sa.Text(), server_default=sa.text("''"), nullable=False),
    )
    op.add_column(
        "comments", sa.Column("held", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "notifications", sa.Column("deliver_after", UTCDateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "family_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("teen_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("code_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("linked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["teen_id"], ["users.id"], name="fk_family_links_teen_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["users.id"],
            name="fk_family_links_parent_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_family_links"),
        sa.UniqueConstraint("teen_id", name="uq_family_links_teen_id"),
        sa.UniqueConstraint("code_hash", name="uq_family_links_code_hash"),
    )
    op.create_index("ix_family_links_parent_id", "family_links", ["parent_id"])


def downgrade() -> None:
    op.drop_table("family_links")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("held")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("deliver_after")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("comment_filter")
        batch.drop_column("comment_audience")
        batch.drop_column("screen_unlocked_on")
        batch.drop_column("screen_passcode_hash")
        batch.drop_column("screen_time_minutes")
        batch.drop_column("time_zone")
