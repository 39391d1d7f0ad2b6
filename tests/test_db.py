"""The unit of work: side effects wait for the real commit, and undo work on rollback."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from playback.db import Database, after_commit, after_rollback
from playback.kit.ids import id_timestamp_ms, new_id
from playback.kit.models import UTCDateTime


def test_after_commit_waits_for_the_outer_commit_not_a_savepoint(database: Database) -> None:
    ran: list[str] = []
    with database.unit_of_work() as db:
        after_commit(db, lambda: ran.append("job"))
        with db.begin_nested():
            db.execute(sa.text("SELECT 1"))
        assert ran == []  # releasing the savepoint is not the commit
    assert ran == ["job"]


def test_rollback_drops_commit_hooks_and_runs_undo_hooks(database: Database) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError), database.unit_of_work() as db:
        after_commit(db, lambda: ran.append("job"))
        after_rollback(db, lambda: ran.append("undo"))
        raise RuntimeError("boom")
    assert ran == ["undo"]


def test_a_rolled_back_savepoint_does_not_undo_the_outer_work(database: Database) -> None:
    ran: list[str] = []
    with database.unit_of_work() as db:
        after_rollback(db, lambda: ran.append("undo"))
        nested = db.begin_nested()
        nested.rollback()
    assert ran == []


def test_ids_are_time_ordered_and_version_7() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 for i in ids)
    now_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
    assert abs(id_timestamp_ms(ids[-1]) - now_ms) < 5000


def test_naive_datetimes_are_refused() -> None:
    column = UTCDateTime()
    naive = dt.datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(naive, sa.create_engine("sqlite://").dialect)
