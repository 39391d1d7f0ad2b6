"""The For You caches: shared candidate lists (refreshed in the background once stale, the
least useful computed in the background on first use) and the facts kept about videos."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.db import Database
from playback.feeds.facts import FactsCache
from playback.feeds.pools import Pools
from tests.conftest import post_video, signup_and_login


def _until(check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("the background work did not finish in time")


def test_a_stale_list_is_served_at_once_and_replaced_in_the_background(
    database: Database,
) -> None:
    pools = Pools(ttl=0.05)
    calls: list[str] = []
    release = threading.Event()

    def compute(db: object) -> list[int]:
        calls.append(threading.current_thread().name)
        if len(calls) > 1:
            release.wait(10)  # the refresh is slow: the reader must not wait for it
        return [len(calls)]

    with database.unit_of_work(write=False) as db:
        assert pools.get(db, "key", compute) == [1]
        assert pools.get(db, "key", compute) == [1]  # kept
        time.sleep(0.06)
        started = time.monotonic()
        assert pools.get(db, "key", compute) == [1]  # stale: still answered at once
        assert time.monotonic() - started < 1.0
        assert pools.get(db, "key", compute) == [1]  # one refresh at a time
        release.set()
        _until(lambda: pools.get(db, "key", compute) == [2])
    assert calls[0] == threading.current_thread().name
    assert calls[1:] == ["feed-pool-refresh"]


def test_only_the_first_missing_lists_are_computed_by_the_reader(database: Database) -> None:
    pools = Pools()
    asked: dict[str, list[str]] = {}

    def compute(db: object, keys: list[str]) -> dict[str, str]:
        name = threading.current_thread().name
        assert name not in asked  # nothing is computed twice
        asked[name] = keys
        return {key: key.upper() for key in keys}

    keys = ["a", "b", "c", "d", "e"]
    with database.unit_of_work(write=False) as db:
        first = pools.get_many(db, keys, compute, at_most=2)
        assert first == {"a": "A", "b": "B"}
        _until(lambda: len(pools.get_many(db, keys, compute, at_most=2)) == 5)
    assert asked == {
        threading.current_thread().name: ["a", "b"],
        "feed-pool-refresh": ["c", "d", "e"],
    }


def test_a_failed_refresh_keeps_the_list_and_is_tried_again(database: Database) -> None:
    pools = Pools(ttl=0.05)
    attempts: list[int] = []

    def compute(db: object) -> str:
        attempts.append(1)
        if len(attempts) == 2:
            raise RuntimeError("the database went away for a moment")
        return f"value {len(attempts)}"

    with database.unit_of_work(write=False) as db:
        assert pools.get(db, "k", compute) == "value 1"
        time.sleep(0.06)
        assert pools.get(db, "k", compute) == "value 1"
        _until(lambda: len(attempts) == 2)
        time.sleep(0.06)
        _until(lambda: pools.get(db, "k", compute) == "value 3")


def test_without_background_every_list_is_computed_by_the_reader(database: Database) -> None:
    pools = Pools(ttl=0.01, background=False)
    with database.unit_of_work(write=False) as db:
        answer = pools.get_many(db, ["a", "b", "c"], lambda _db, ks: {k: k for k in ks}, at_most=1)
        assert answer == {"a": "a", "b": "b", "c": "c"}
        time.sleep(0.02)
        counter = iter(range(100))
        value = pools.get(db, "x", lambda _db: next(counter))
        time.sleep(0.02)
        assert pools.get(db, "x", lambda _db: next(counter)) == value + 1


def test_facts_of_videos_are_read_once_and_bounded(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maker = signup_and_login(client, "facts.maker")
    ids = [
        uuid.UUID(post_video(client, maker, clip, caption=f"#dance #take{i} moves"))
        for i in range(3)
    ]
    cache = FactsCache(max_videos=2)
    with database.unit_of_work(write=False) as db:
        found = cache.get(db, [*ids[:2], uuid.UUID(int=1)])  # an unknown id is left out
        assert set(found) == set(ids[:2])
        fact = found[ids[0]]
        assert fact.duration_ms > 0
        assert len(fact.tags) == 2  # "dance" and "take0", in caption order
        queries: list[str] = []

        def count(*args: object) -> None:
            queries.append(str(args[2]))

        sa.event.listen(database.engine, "before_cursor_execute", count)
        try:
            assert cache.get(db, ids[:2]) == {vid: found[vid] for vid in ids[:2]}
            assert queries == []  # kept
            cache.get(db, [ids[2]])  # a third: the least recently used goes
            assert queries  # read
            queries.clear()
            cache.get(db, [ids[0]])
            assert queries  # ids[0] had to go to keep two
        finally:
            sa.event.remove(database.engine, "before_cursor_execute", count)


def test_trending_is_ranked_per_country_and_everywhere(
    client: TestClient, database: Database, clip: Path
) -> None:
    from playback.engagement.models import WatchEvent
    from playback.feeds import candidates
    from playback.kit.time import utcnow

    _, maker = signup_and_login(client, "trend.maker")
    a, b, c = (uuid.UUID(post_video(client, maker, clip)) for _ in range(3))
    plays = {("DE", a): 5, ("DE", b): 2, ("US", b): 4, ("US", c): 1, ("ZZ", c): 9}
    now = utcnow()
    with database.unit_of_work() as db:
        for (territory, video), n in plays.items():
            for i in range(n):
                db.add(
                    WatchEvent(
                        video_id=video,
                        viewer_key=f"anon:{territory}{i}",
                        watched_ms=1000,
                        source="for_you",
                        counted=True,
                        created_at=now,
                        territory=territory,
                    )
                )
        # Older than the window: not trending any more.
        db.add(
            WatchEvent(
                video_id=a,
                viewer_key="anon:old",
                watched_ms=1000,
                source="for_you",
                counted=True,
                created_at=now - dt.timedelta(hours=candidates.TRENDING_HOURS + 1),
                territory="US",
            )
        )
    with database.unit_of_work(write=False) as db:
        lists = candidates._trending(db)
    ids = {key: [cand.video_id for cand in found] for key, found in lists.items()}
    assert ids == {"DE": [a, b], "US": [b, c], candidates.EVERYWHERE: [c, b, a]}
    assert [cand.strength for cand in lists["DE"]] == [1.0, 2 / 5]
    assert {cand.source for cand in lists["US"]} == {"trending_local"}
    assert {cand.source for cand in lists[candidates.EVERYWHERE]} == {"trending"}
