"""Models and migrations agree, and the chain runs both ways on this test run's database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from playback.feeds.search import include_name
from playback.migrations import alembic_config, upgrade
from playback.models import metadata
from tests.conftest import PG_URL, make_pg_schema


@pytest.fixture
def fresh_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    if PG_URL:
        url = make_pg_schema(f"playback_migrations_{uuid.uuid4().hex[:8]}")
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = sa.create_engine(url)
    yield engine
    if PG_URL:
        schema = url.rsplit("%3D", 1)[1]
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def test_models_and_migrations_agree(fresh_engine: sa.Engine) -> None:
    upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": include_name,  # as env.py: search index objects
            },
        )
        diff = _without_inline_sqlite_fks(compare_metadata(context, metadata), fresh_engine)
    assert diff == [], f"models and migrations disagree; add a migration: {diff}"


def _fk_key(fk: sa.ForeignKeyConstraint) -> tuple[str, tuple[str, ...], str]:
    return fk.table.name, tuple(c.name for c in fk.columns), fk.referred_table.name


def _without_inline_sqlite_fks(diff: list, engine: sa.Engine) -> list:
    """SQLite can add a column with a foreign key only inline (``ADD COLUMN ... REFERENCES``),
    and SQLAlchemy does not read names or ON DELETE from inline constraints. Such a pair of
    "remove unnamed" / "add named" is the same key when SQLite itself reports the same target
    and ON DELETE rule; anything else stays a difference."""
    if engine.dialect.name != "sqlite":
        return diff
    unnamed = {_fk_key(d[1]): d for d in diff if d[0] == "remove_fk" and d[1].name is None}
    kept = []
    for d in diff:
        if d[0] == "add_fk" and _fk_key(d[1]) in unnamed:
            table, columns, referred = _fk_key(d[1])
            with engine.connect() as conn:
                rows = conn.exec_driver_sql(f"PRAGMA foreign_key_list({table})").all()
            pragma = {(r[3],): (r[2], r[6]) for r in rows}  # column -> (table, on_delete)
            if pragma.get(columns) == (referred, d[1].ondelete.upper()):
                unnamed.pop((table, columns, referred))
                continue
        kept.append(d)
    return [d for d in kept if not (d[0] == "remove_fk" and d[1].name is None)] + list(
        unnamed.values()
    )


def test_the_chain_is_linear_and_reversible(fresh_engine: sa.Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, "more than one migration head: merge them"
    upgrade(fresh_engine)
    with fresh_engine.begin() as conn:
        command.downgrade(alembic_config(fresh_engine, conn), "base")
    tables = set(sa.inspect(fresh_engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade(fresh_engine)
    assert {t.name for t in metadata.sorted_tables} <= set(
        sa.inspect(fresh_engine).get_table_names()
    )


def test_upgrading_twice_is_harmless(fresh_engine: sa.Engine) -> None:
    upgrade(fresh_engine)
    upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_creator_months_are_filled_from_the_days_already_rolled_up(
    fresh_engine: sa.Engine,
) -> None:
    """Migration 0016 unites each creator's daily viewer sets by calendar month."""
    import datetime as dt

    import numpy as np

    from playback.accounts.models import User
    from playback.analytics import bitmaps
    from playback.analytics.models import CreatorDay, CreatorMonth

    upgrade(fresh_engine, "0015")
    creator = uuid.uuid4()
    days = {
        dt.date(2026, 9, 3): [1, 2, 3],
        dt.date(2026, 9, 28): [3, 4, 900],
        dt.date(2026, 10, 1): [5],
        dt.date(2026, 10, 2): list(range(0, 4000, 2)),  # dense: a bitmap
    }
    with fresh_engine.begin() as conn:
        conn.execute(
            sa.insert(User.__table__).values(
                id=creator, handle="months", password_hash="x", birthdate=dt.date(1990, 1, 1),
                country="DE",
            )
        )  # fmt: skip
        conn.execute(
            sa.insert(CreatorDay.__table__),
            [
                {"creator_id": creator, "day": day, "viewers": bitmaps.encode(np.array(n))}
                for day, n in days.items()
            ],
        )
    upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        months = {
            row.month: row.viewers
            for row in conn.execute(
                sa.select(CreatorMonth.month, CreatorMonth.viewers).where(
                    CreatorMonth.creator_id == creator
                )
            )
        }
    assert sorted(months) == [dt.date(2026, 9, 1), dt.date(2026, 10, 1)]
    assert bitmaps.decode(months[dt.date(2026, 9, 1)]).tolist() == [1, 2, 3, 4, 900]
    assert bitmaps.decode(months[dt.date(2026, 10, 1)]).tolist() == sorted({5, *range(0, 4000, 2)})
