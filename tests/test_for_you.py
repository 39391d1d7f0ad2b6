"""The For You pipeline: nothing that must stay hidden leaks into any page, pages stay varied,
what the viewer does changes the next page, "not interested" works, and a failing pipeline
falls back to the newest videos."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts.models import User
from playback.db import Database
from playback.media.models import Video
from tests.conftest import post_video, signup_and_login


def _pages(
    client: TestClient, headers: dict[str, str] | None, pages: int = 20
) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    for _ in range(pages):
        params = {"cursor": cursor} if cursor else {}
        body = client.get("/api/v1/feeds/for-you", params=params, headers=headers or {}).json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor or not body["items"]:
            break
    return items


def _watch(client: TestClient, video: str, headers: dict[str, str], ms: int) -> None:
    response = client.post(
        f"/api/v1/videos/{video}/views",
        json={"watched_ms": ms, "source": "for_you"},
        headers=headers,
    )
    assert response.status_code == 201


def test_nothing_hidden_leaks_into_any_page(
    client: TestClient, database: Database, clip: Path
) -> None:
    creators = [signup_and_login(client, f"maker{i}")[1] for i in range(6)]
    allowed = {post_video(client, h, clip) for h in creators for _ in range(3)}
    _me, me = signup_and_login(client, "me.viewer")
    hidden: dict[str, str] = {}
    hidden["mine"] = post_video(client, me, clip)
    hidden["private video"] = post_video(client, creators[0], clip, visibility="private")
    hidden["followers only"] = post_video(client, creators[1], clip, visibility="followers")
    _, private_h = signup_and_login(client, "private.account")
    assert client.patch("/api/v1/me", json={"private": True}, headers=private_h).status_code == 200
    hidden["private account"] = post_video(client, private_h, clip)
    _, blocker = signup_and_login(client, "blocker")
    hidden["blocked me"] = post_video(client, blocker, clip)
    assert client.put("/api/v1/users/me.viewer/block", headers=blocker).status_code == 204
    _, blocked = signup_and_login(client, "blocked")
    hidden["I blocked"] = post_video(client, blocked, clip)
    assert client.put("/api/v1/users/blocked/block", headers=me).status_code == 204
    _, teen = signup_and_login(client, "young.teen", age=14)
    hidden["13-15 stranger"] = post_video(client, teen, clip)
    hidden["watched"] = sorted(allowed)[0]
    _watch(client, hidden["watched"], me, 500)
    hidden["not interested"] = sorted(allowed)[1]
    response = client.put(f"/api/v1/videos/{hidden['not interested']}/not-interested", headers=me)
    assert response.status_code == 204
    hidden["unready"] = post_video(client, creators[2], clip)
    hidden["muted"] = post_video(client, creators[3], clip)
    with database.engine.begin() as conn:
        conn.execute(
            sa.update(Video)
            .where(Video.id == uuid.UUID(hidden["unready"]))
            .values(status="processing")
        )
        conn.execute(
            sa.update(Video).where(Video.id == uuid.UUID(hidden["muted"])).values(sound_muted=True)
        )
        # Even if a 13-15-year-old's account and video were public, strangers never get it.
        conn.execute(sa.update(User).where(User.handle == "young.teen").values(private=False))
    seen = [str(item["id"]) for item in _pages(client, me)]
    assert len(seen) == len(set(seen)), "a video came twice"
    leaked = {name for name, vid in hidden.items() if vid in seen}
    assert leaked == set()
    assert set(seen) == allowed - {hidden["watched"], hidden["not interested"]}


def test_videos_of_young_teens_reach_only_their_followers(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, teen = signup_and_login(client, "young.teen", age=14)
    teen_video = post_video(client, teen, clip)
    with database.engine.begin() as conn:
        conn.execute(sa.update(User).where(User.handle == "young.teen").values(private=False))
    _, friend = signup_and_login(client, "friend")
    assert client.put("/api/v1/users/young.teen/follow", headers=friend).status_code == 200
    _, stranger = signup_and_login(client, "stranger")
    assert teen_video in [i["id"] for i in _pages(client, friend)]
    assert teen_video not in [i["id"] for i in _pages(client, stranger)]
    assert teen_video not in [i["id"] for i in _pages(client, None)]


def test_pages_stay_varied(client: TestClient, clip: Path) -> None:
    makers = [signup_and_login(client, f"maker{i}")[1] for i in range(3)]
    for headers in makers:
        for _ in range(6):
            post_video(client, headers, clip, caption="#same")
    _, me = signup_and_login(client, "me.viewer")
    first = client.get("/api/v1/feeds/for-you", headers=me).json()["items"]
    creators = Counter(i["creator"]["handle"] for i in first)
    assert max(creators.values()) <= 2
    tags = Counter(tag for i in first for tag in i["hashtags"][:1])
    assert max(tags.values(), default=0) <= 3


def test_what_the_viewer_does_changes_the_next_page(
    client: TestClient, clip: Path, tmp_path: Path
) -> None:
    cats = [signup_and_login(client, f"cat{i}")[1] for i in range(4)]
    cars = [signup_and_login(client, f"car{i}")[1] for i in range(4)]
    cat_videos = [
        post_video(client, h, clip, caption="#cats so cute") for h in cats for _ in (1, 2)
    ]
    car_videos = [
        post_video(client, h, clip, caption="#cars go fast") for h in cars for _ in (1, 2)
    ]
    _, me = signup_and_login(client, "me.viewer")

    def top(n: int = 4) -> list[str]:
        # A new feed session each time: only what the viewer did differs.
        items = client.get("/api/v1/feeds/for-you", headers=me).json()["items"]
        return [str(i["id"]) for i in items[:n]]

    # The viewer finishes and likes a cat video: cats come first on the next page.
    _watch(client, cat_videos[0], me, 3000)
    assert client.put(f"/api/v1/videos/{cat_videos[0]}/like", headers=me).status_code == 200
    after_like = top()
    assert sum(v in cat_videos for v in after_like) >= 3, after_like
    first = client.get("/api/v1/feeds/for-you", headers=me).json()["items"][0]
    assert any("enjoyed" in reason.lower() for reason in first["reasons"])
    # Then they say "not interested" to two cat videos and finish two car videos: cars rise.
    for video in cat_videos[1:3]:
        response = client.put(f"/api/v1/videos/{video}/not-interested", headers=me)
        assert response.status_code == 204
    for video in car_videos[:2]:
        _watch(client, video, me, 4000)
        assert client.put(f"/api/v1/videos/{video}/like", headers=me).status_code == 200
    after_change = top()
    assert sum(v in car_videos for v in after_change) >= 3, after_change
    assert not set(cat_videos[1:3]) & {str(i["id"]) for i in _pages(client, me)}


def test_not_interested_needs_a_video_the_viewer_can_see(client: TestClient, clip: Path) -> None:
    _, maker = signup_and_login(client, "maker")
    private = post_video(client, maker, clip, visibility="private")
    _, me = signup_and_login(client, "me.viewer")
    assert client.put(f"/api/v1/videos/{private}/not-interested", headers=me).status_code == 404
    assert client.put(f"/api/v1/videos/{uuid.uuid4()}/not-interested").status_code == 404
    public = post_video(client, maker, clip)
    for _ in range(2):  # idempotent, and open to logged-out browsers
        assert client.put(f"/api/v1/videos/{public}/not-interested").status_code == 204


def test_a_failing_pipeline_falls_back_to_the_newest_videos(
    client: TestClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playback.feeds import ranking

    _, maker = signup_and_login(client, "maker")
    videos = [post_video(client, maker, clip) for _ in range(3)]

    def broken(*_args: object) -> None:
        raise RuntimeError("the model is unavailable")

    monkeypatch.setattr(ranking, "score", broken)
    items = client.get("/api/v1/feeds/for-you").json()["items"]
    assert [i["id"] for i in items] == list(reversed(videos))
    assert all(i["reasons"] == ["New on Playback"] for i in items)


def test_the_trained_model_picks_what_similar_viewers_watched(
    client: TestClient, database: Database, clip: Path
) -> None:
    from typer.testing import CliRunner

    from playback.cli import cli

    quiet = CliRunner().invoke(cli, ["recsys", "train"])
    assert quiet.exit_code == 0 and "Not enough to learn from yet" in quiet.output
    makers = [signup_and_login(client, f"maker{i}")[1] for i in range(6)]
    videos = [post_video(client, h, clip) for h in makers for _ in range(2)]
    first, pair = videos[0], videos[7]  # a pair nothing else links: other creators, no tags
    for i in range(6):
        _, fan = signup_and_login(client, f"fan{i}")
        for video in (first, pair):
            _watch(client, video, fan, 3000)  # finished, and replayed
        _watch(client, videos[2 + i], fan, 300)  # and a glance at something else
    result = CliRunner().invoke(cli, ["recsys", "train"])
    assert result.exit_code == 0, result.output
    assert "Trained on" in result.output
    _, me = signup_and_login(client, "me.viewer")
    _watch(client, first, me, 3000)
    items = client.get("/api/v1/feeds/for-you", headers=me).json()["items"]
    assert items[0]["id"] == pair
    assert "Picked for you from what you watched" in items[0]["reasons"]
