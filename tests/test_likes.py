"""Likes and the profile's total likes: exact after any mix of likes, unlikes, concurrency and
deletions; batched counters; reconcile reports zero drift; like notifications and milestones."""

from __future__ import annotations

import random
import threading
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from playback.cli import cli
from playback.db import Database
from playback.engagement import counters
from playback.engagement.models import CounterDelta, Like
from playback.engagement.reconcile import do_flush_all, do_reconcile
from playback.media.models import Video
from tests.conftest import login, post_video, signup, signup_and_login


def total_likes(client: TestClient, handle: str) -> int:
    return int(client.get(f"/api/v1/users/{handle}").json()["total_likes"])


def test_likes_are_idempotent_and_add_up_to_the_total(client: TestClient, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    videos = [post_video(client, maya_h, clip) for _ in range(3)]
    fans = [signup_and_login(client, f"fan{i}")[1] for i in range(4)]
    for i, headers in enumerate(fans):
        for video in videos[: i % 3 + 1]:
            for _ in range(2):
                response = client.put(f"/api/v1/videos/{video}/like", headers=headers)
                assert response.status_code == 200 and response.json()["liked"] is True
    per_video = [client.get(f"/api/v1/videos/{v}").json()["stats"]["likes"] for v in videos]
    assert per_video == [4, 2, 1]
    assert total_likes(client, "maya") == sum(per_video) == 7
    # Unliking twice takes one like back.
    for _ in range(2):
        assert client.delete(f"/api/v1/videos/{videos[0]}/like", headers=fans[0]).json() == {
            "liked": False,
            "like_count": 3,
            "likes_hidden": False,
        }
    assert total_likes(client, "maya") == 6
    assert client.get(f"/api/v1/videos/{videos[0]}", headers=fans[1]).json()["me"]["liked"] is True


def test_counts_are_exact_before_and_after_the_flush(
    client: TestClient, database: Database, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import playback.engagement.service as engagement

    monkeypatch.setattr(engagement, "nudge_flush", lambda db: None)  # keep deltas pending
    _, maya_h = signup_and_login(client, "maya")
    video = post_video(client, maya_h, clip)
    for i in range(5):
        client.put(f"/api/v1/videos/{video}/like", headers=signup_and_login(client, f"f{i}")[1])
    with database.engine.connect() as conn:
        cached = conn.execute(
            sa.select(Video.like_count).where(Video.id == uuid.UUID(video))
        ).scalar_one()
        pending = conn.execute(sa.select(sa.func.count()).select_from(CounterDelta)).scalar_one()
    assert cached == 0 and pending >= 10  # nothing touched the video row...
    assert client.get(f"/api/v1/videos/{video}").json()["stats"]["likes"] == 5  # ...yet it is exact
    assert total_likes(client, "maya") == 5
    assert do_flush_all(database) >= 10
    with database.engine.connect() as conn:
        cached = conn.execute(
            sa.select(Video.like_count).where(Video.id == uuid.UUID(video))
        ).scalar_one()
        pending = conn.execute(sa.select(sa.func.count()).select_from(CounterDelta)).scalar_one()
    assert cached == 5 and pending == 0
    assert client.get(f"/api/v1/videos/{video}").json()["stats"]["likes"] == 5


def test_a_deleted_videos_likes_leave_the_total(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    keep, gone = post_video(client, maya_h, clip), post_video(client, maya_h, clip)
    for i in range(3):
        h = signup_and_login(client, f"f{i}")[1]
        client.put(f"/api/v1/videos/{keep}/like", headers=h)
        client.put(f"/api/v1/videos/{gone}/like", headers=h)
    assert total_likes(client, "maya") == 6
    assert client.delete(f"/api/v1/videos/{gone}", headers=maya_h).status_code == 204
    assert total_likes(client, "maya") == 3
    assert all(d.total == 0 for d in do_reconcile(database, repair=False))


@pytest.mark.parametrize("kind", ["private", "deleted", "blocked", "unknown"])
def test_liking_what_you_may_not_see_is_404(client: TestClient, clip: Path, kind: str) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    video = post_video(
        client, maya_h, clip, visibility="private" if kind == "private" else "public"
    )
    if kind == "deleted":
        client.delete(f"/api/v1/videos/{video}", headers=maya_h)
    if kind == "blocked":
        client.put("/api/v1/users/leo/block", headers=maya_h)
    if kind == "unknown":
        video = str(uuid.uuid4())
    response = client.put(f"/api/v1/videos/{video}/like", headers=leo_h)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "video_not_found"
    assert client.put(f"/api/v1/videos/{video}/like").status_code in (401, 404)


def test_concurrent_likes_and_unlikes_end_exact(
    live_server: str, client: TestClient, database: Database, clip: Path
) -> None:
    """Many threads like and unlike through real HTTP at once; the counts end exact and
    `playback reconcile` finds no drift."""
    _, maya_h = signup_and_login(client, "maya")
    videos = [post_video(client, maya_h, clip) for _ in range(2)]
    people = [f"p{i}" for i in range(12)]
    tokens = {}
    for handle in people:
        signup(client, handle)
        tokens[handle] = login(client, handle)
    errors: list[str] = []

    def worker(handle: str, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=live_server, headers=tokens[handle], timeout=60) as http:
            for _ in range(15):
                video = rng.choice(videos)
                method = "PUT" if rng.random() < 0.6 else "DELETE"
                r = http.request(method, f"/api/v1/videos/{video}/like")
                if r.status_code != 200:
                    errors.append(f"{method} {r.status_code} {r.text}")

    threads = [threading.Thread(target=worker, args=(h, i)) for i, h in enumerate(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with database.engine.connect() as conn:
        truth = {
            v: conn.execute(
                sa.select(sa.func.count()).select_from(Like).where(Like.video_id == uuid.UUID(v))
            ).scalar_one()
            for v in videos
        }
    for v in videos:
        assert client.get(f"/api/v1/videos/{v}").json()["stats"]["likes"] == truth[v]
    assert total_likes(client, "maya") == sum(truth.values())
    result = CliRunner().invoke(cli, ["reconcile", "--check-only"])
    assert result.exit_code == 0, result.output
    assert "Drift: 0" in result.output


def test_reconcile_finds_and_repairs_drift(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video = post_video(client, maya_h, clip)
    client.put(f"/api/v1/videos/{video}/like", headers=signup_and_login(client, "fan")[1])
    do_flush_all(database)
    with database.engine.begin() as conn:  # simulate a corrupted cache
        conn.execute(sa.update(Video).values(like_count=42))
    report = {d.counter: d for d in do_reconcile(database)}
    assert report["video.like_count"].rows == 1 and report["video.like_count"].total == 41
    assert all(d.total == 0 for d in do_reconcile(database, repair=False))
    assert client.get(f"/api/v1/videos/{video}").json()["stats"]["likes"] == 1


def test_likes_become_one_aggregated_notification(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video = post_video(client, maya_h, clip)
    for i in range(4):
        client.put(f"/api/v1/videos/{video}/like", headers=signup_and_login(client, f"fan{i}")[1])
    do_flush_all(database)
    with database.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT kind, count FROM notifications WHERE kind = 'like'")
        ).all()
    assert [tuple(r) for r in rows] == [("like", 4)]


def test_total_likes_milestones_notify_once(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video = post_video(client, maya_h, clip)
    with database.unit_of_work() as db:  # 999 likes already on the books
        maya = db.scalar(sa.text("SELECT id FROM users WHERE handle = 'maya'"))
        db.execute(sa.text("UPDATE users SET total_likes = 999 WHERE handle = 'maya'"))
        assert maya is not None
    client.put(f"/api/v1/videos/{video}/like", headers=signup_and_login(client, "fan")[1])
    do_flush_all(database)
    with database.engine.connect() as conn:
        values = (
            conn.execute(sa.text("SELECT value FROM notifications WHERE kind = 'milestone'"))
            .scalars()
            .all()
        )
    assert values == [1000]
    assert counters.KINDS  # the milestone came from the batched counter path
