"""analytics: each creator's viewers by calendar month (the union of the month's daily sets)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "creator_months",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("viewers", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_creator_months_creator_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creator_id", "month", name=op.f("pk_creator_months")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE creator_months ALTER COLUMN viewers SET STORAGE EXTERNAL")
    _fill_from_days()


def _fill_from_days() -> None:
    """The months of the days already rolled up, one creator at a time."""
    from playback.analytics import bitmaps

    conn = op.get_bind()

    def columns() -> tuple[sa.ColumnClause[object], ...]:
        return (sa.column("creator_id", sa.Uuid()), sa.column("viewers", sa.LargeBinary()))

    days = sa.table("creator_days", sa.column("day", sa.Date()), *columns())
    months = sa.table("creator_months", sa.column("month", sa.Date()), *columns())
    creators = conn.execute(sa.select(days.c.creator_id).distinct()).scalars().all()
    for creator_id in creators:
        found: dict[dt.date, list[np.ndarray]] = defaultdict(list)
        for day, viewers in conn.execute(
            sa.select(days.c.day, days.c.viewers).where(days.c.creator_id == creator_id)
        ):
            found[day.replace(day=1)].append(bitmaps.decode(bytes(viewers)))
        rows = [
            {
                "creator_id": creator_id,
                "month": month,
                "viewers": bitmaps.encode(np.concatenate(parts)),
            }
            for month, parts in sorted(found.items())
        ]
        if rows:
            conn.execute(sa.insert(months), rows)


def downgrade() -> None:
    op.drop_table("creator_months")
