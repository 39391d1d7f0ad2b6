"""Leaving Playback: deactivation hides a person everywhere and takes them out of every count
others see; logging in again brings everything back; erasure removes every trace of them."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.config import Settings
from playback.db import Database
from playback.engagement.reconcile import do_reconcile
from playback.lifecycle import erasure
from playback.models import metadata
from playback.storage import create_storage
from tests.conftest import PASSWORD, count_rows, login, post_video, signup_and_login
from tests.test_errors import assert_error_shape


def _no_drift(database: Database) -> None:
    drift = {d.counter: d.examples for d in do_reconcile(database, repair=False) if d.rows}
    assert drift == {}


def _counts(client: TestClient, handle: str) -> dict[str, int]:
    body = client.get(f"/api/v1/users/{handle}").json()
    return {k: body[k] for k in ("follower_count", "following_count", "total_likes")}


def _video(client: TestClient, video_id: str, headers: dict[str, str] | None = None) -> Any:
    return client.get(f"/api/v1/videos/{video_id}", headers=headers or {})


def _comment(client: TestClient, headers: dict[str, str], video: str, text: str, **kw: Any) -> str:
    body = {"text": text, **kw}
    response = client.post(f"/api/v1/videos/{video}/comments", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _deactivate(client: TestClient, headers: dict[str, str], password: str = PASSWORD) -> Any:
    return client.request("DELETE", "/api/v1/me", json={"password": password}, headers=headers)


def _world(client: TestClient, clip: Path) -> dict[str, Any]:
    """A person ("leaver") woven into others' counts in every way there is."""
    _, leaver = signup_and_login(client, "leaver")
    _, fan = signup_and_login(client, "fan")
    _, other = signup_and_login(client, "other")
    own = post_video(client, leaver, clip, caption="my #dance")
    theirs = post_video(client, other, clip, caption="hello")
    # The fan follows and likes the leaver; the leaver follows, likes, saves and comments on
    # the other's video, and the fan answers the leaver's comment there.
    assert client.put("/api/v1/users/leaver/follow", headers=fan).status_code == 200
    assert client.put("/api/v1/users/other/follow", headers=leaver).status_code == 200
    assert client.put("/api/v1/users/leaver/follow", headers=other).status_code == 200
    assert client.put(f"/api/v1/videos/{own}/like", headers=fan).status_code == 200
    assert client.put(f"/api/v1/videos/{theirs}/like", headers=leaver).status_code == 200
    assert client.put(f"/api/v1/videos/{theirs}/like", headers=fan).status_code == 200
    assert client.put(f"/api/v1/videos/{theirs}/save", headers=leaver).status_code == 200
    said = _comment(client, leaver, theirs, "nice one")
    _comment(client, fan, theirs, "agreed", parent_id=said)
    fans_comment = _comment(client, fan, theirs, "first!")
    _comment(client, leaver, theirs, "yes", parent_id=fans_comment)
    assert client.put(f"/api/v1/comments/{fans_comment}/like", headers=leaver).status_code == 200
    _comment(client, other, own, "great moves")
    return {
        "leaver": leaver,
        "fan": fan,
        "other": other,
        "own": own,
        "theirs": theirs,
        "fans_comment": fans_comment,
    }


def _seen_by_others(client: TestClient, w: dict[str, Any]) -> dict[str, Any]:
    theirs = _video(client, w["theirs"]).json()["stats"]
    comments = client.get(f"/api/v1/videos/{w['theirs']}/comments").json()["items"]
    fans = next(c for c in comments if c["id"] == w["fans_comment"])
    return {
        "other": _counts(client, "other"),
        "fan": _counts(client, "fan"),
        "theirs": {k: theirs[k] for k in ("likes", "comments", "saves")},
        "comment_authors": sorted(c["author"]["handle"] for c in comments),
        "fans_comment": (fans["like_count"], fans["reply_count"]),
    }


def test_deactivation_hides_the_person_and_their_counts_until_they_log_in_again(
    client: TestClient, database: Database, clip: Path
) -> None:
    w = _world(client, clip)
    before = _seen_by_others(client, w)
    assert before == {
        "other": {"follower_count": 1, "following_count": 1, "total_likes": 2},
        "fan": {"follower_count": 0, "following_count": 1, "total_likes": 0},
        "theirs": {"likes": 2, "comments": 4, "saves": 1},
        "comment_authors": ["fan", "leaver"],
        "fans_comment": (1, 1),
    }

    wrong = _deactivate(client, w["leaver"], "not-the-password")
    assert wrong.status_code == 403
    assert_error_shape(wrong.json(), "wrong_password")
    assert _seen_by_others(client, w) == before  # nothing changed

    done = _deactivate(client, w["leaver"])
    assert done.status_code == 202, done.text
    erase_after = dt.datetime.fromisoformat(done.json()["erase_after"])
    assert erase_after - dt.datetime.now(dt.UTC) > dt.timedelta(days=29)

    # Gone from every surface, and from every count others see.
    assert client.get("/api/v1/users/leaver").status_code == 404
    assert _video(client, w["own"], w["fan"]).status_code == 404
    assert client.get("/api/v1/me", headers=w["leaver"]).status_code == 401  # sessions ended
    assert _deactivate(client, w["leaver"]).status_code == 401  # twice is safe
    assert _seen_by_others(client, w) == {
        "other": {"follower_count": 0, "following_count": 0, "total_likes": 1},
        "fan": {"follower_count": 0, "following_count": 0, "total_likes": 0},
        # The leaver's comment and the fan's reply to it; the leaver's reply to the fan.
        "theirs": {"likes": 1, "comments": 1, "saves": 0},
        "comment_authors": ["fan"],
        "fans_comment": (0, 0),
    }
    found = client.get("/api/v1/search", params={"q": "leaver", "type": "accounts"}).json()
    assert found["items"] == []
    followers = client.get("/api/v1/users/other/followers", headers=w["other"]).json()
    assert followers["items"] == []
    _no_drift(database)  # the counts equal the rows of active accounts, exactly

    # Logging in within the grace period brings everything back.
    again = login(client, "leaver")
    assert client.get("/api/v1/me", headers=again).json()["handle"] == "leaver"
    assert _video(client, w["own"], w["fan"]).status_code == 200
    assert _seen_by_others(client, w) == before
    _no_drift(database)


def test_a_deactivated_account_cannot_be_deactivated_twice(
    client: TestClient, database: Database, settings: Settings
) -> None:
    from playback.accounts.models import User
    from playback.errors import Conflict
    from playback.lifecycle.service import do_deactivate

    signup_and_login(client, "twice")
    with database.unit_of_work() as db:
        user = db.scalar(sa.select(User).where(User.handle == "twice"))
        assert user is not None
        do_deactivate(db, settings, user, PASSWORD)
    with database.unit_of_work() as db:
        user = db.scalar(sa.select(User).where(User.handle == "twice"))
        assert user is not None
        with pytest.raises(Conflict):
            do_deactivate(db, settings, user, PASSWORD)


# --- erasure ------------------------------------------------------------------------------


def _everything(client: TestClient, clip: Path) -> dict[str, Any]:
    """The world above, plus every other kind of row that can refer to a person."""
    w = _world(client, clip)
    leaver, fan, other = w["leaver"], w["fan"], w["other"]
    assert (
        client.put(
            "/api/v1/me/avatar", files={"file": ("a.png", _png(), "image/png")}, headers=leaver
        ).status_code
        == 200
    )
    sound = _video(client, w["own"]).json()["sound"]["id"]
    # Others' video with the leaver's original sound: it must keep playing afterwards.
    w["with_sound"] = post_video(client, other, clip, caption="using it", sound_id=sound)
    w["sound"] = sound
    views = [(w["theirs"], leaver), (w["own"], fan), (w["own"], None), (w["with_sound"], leaver)]
    for video, who in views:
        body = {"watched_ms": 1000, "source": "for_you"}
        r = client.post(f"/api/v1/videos/{video}/views", json=body, headers=who or {})
        assert r.status_code == 201, r.text
    assert (
        client.post(f"/api/v1/videos/{w['theirs']}/shares", json={}, headers=leaver).status_code
        == 201
    )
    assert client.get("/api/v1/feeds/for-you", headers=leaver).status_code == 200
    r = client.put(f"/api/v1/videos/{w['with_sound']}/not-interested", headers=leaver)
    assert r.status_code in (200, 201, 204), r.text
    _, blocker = signup_and_login(client, "blocker")
    assert client.put("/api/v1/users/leaver/block", headers=blocker).status_code == 204
    assert client.put("/api/v1/users/fan/block", headers=leaver).status_code == 204
    _comment(client, other, w["theirs"], "hey @leaver look")
    report = {"target": "video", "id": w["own"], "reason": "spam"}
    assert client.post("/api/v1/reports", json=report, headers=other).status_code == 201
    report = {"target": "account", "id": _user_id(client, "leaver"), "reason": "spam"}
    assert client.post("/api/v1/reports", json=report, headers=other).status_code == 201
    report = {"target": "video", "id": w["theirs"], "reason": "spam"}
    assert client.post("/api/v1/reports", json=report, headers=leaver).status_code == 201
    return w


def _user_id(client: TestClient, handle: str) -> str:
    return str(client.get(f"/api/v1/users/{handle}").json()["id"])


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 90)).save(out, "PNG")
    return out.getvalue()


def _ids_of(database: Database, handle: str) -> dict[str, set[str]]:
    """The person's id, handle, and the ids of everything they made."""
    with database.engine.connect() as conn:
        uid = conn.execute(
            sa.text("SELECT id FROM users WHERE handle = :h"), {"h": handle}
        ).scalar_one()
        videos = (
            conn.execute(sa.text("SELECT id FROM videos WHERE creator_id = :u"), {"u": uid})
            .scalars()
            .all()
        )
        comments = (
            conn.execute(sa.text("SELECT id FROM comments WHERE author_id = :u"), {"u": uid})
            .scalars()
            .all()
        )
    ids = {str(uuid.UUID(str(v))) for v in [uid, *videos, *comments]}
    return {"ids": ids | {i.replace("-", "") for i in ids}, "user": {str(uuid.UUID(str(uid)))}}


def _mentions_of_everything(database: Database, needles: set[str], handle: str) -> list[str]:
    """Every (table, column) whose values contain one of ``needles`` or the handle. Captions
    and comment texts are others' words and may name the handle; nothing else may."""
    found = []
    with database.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(table.select()).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = str(value).lower()
                    hit = any(n in text for n in needles) or (
                        handle in text
                        and (table.name, column)
                        not in {("videos", "caption"), ("comments", "text")}
                    )
                    if hit:
                        found.append(f"{table.name}.{column}={value}")
    return found


def test_erasure_leaves_nothing_that_refers_to_the_person(
    client: TestClient, database: Database, settings: Settings, clip: Path
) -> None:
    w = _everything(client, clip)
    people = _ids_of(database, "leaver")
    storage = create_storage(settings)
    assert any(people["user"].pop() in k for k in storage.list_keys(""))  # files exist
    with database.engine.connect() as conn:
        plays = conn.execute(sa.text("SELECT count(*), sum(sound_ms) FROM watch_events")).one()
    # The rollups hold the person's viewing (a number in others' audiences) and their studio.
    from playback.analytics.rollups import roll_all
    from playback.engagement.reconcile import do_flush_all

    do_flush_all(database)
    assert roll_all(database, until=dt.datetime(2100, 1, 1, tzinfo=dt.UTC)) == 4
    assert count_rows(database, "audience_members") > 0
    assert count_rows(database, "count_days") > 0

    assert _deactivate(client, w["leaver"]).status_code == 202
    with database.engine.begin() as conn:  # the grace period is over
        conn.execute(
            sa.text("UPDATE users SET erase_after = :t WHERE handle = 'leaver'"),
            {"t": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)},
        )
    from playback.lifecycle.tasks import erase_due_accounts

    assert erase_due_accounts.call_local() == 1

    assert _mentions_of_everything(database, people["ids"], "leaver") == []
    leftovers = [k for k in storage.list_keys("") if any(n in k for n in people["ids"])]
    assert leftovers == []
    # Label usage and plays keep their numbers; others' counts stay exact.
    with database.engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*), sum(sound_ms) FROM watch_events")).one() == plays
        )
    _no_drift(database)
    # The other's video with the leaver's original sound still plays, credited to nobody.
    used = _video(client, w["with_sound"]).json()
    assert used["status"] == "ready"
    assert used["sound"]["id"] == w["sound"]
    assert used["sound"]["title"] == "original sound – a deleted account"
    assert client.get(f"/api/v1/sounds/{w['sound']}").status_code == 200
    # The handle is free again; a new account with it is someone else.
    signup_and_login(client, "leaver")
    assert client.get("/api/v1/users/leaver").json()["follower_count"] == 0


def test_erasure_resumes_where_it_stopped_and_runs_twice_safely(
    client: TestClient, database: Database, settings: Settings, clip: Path
) -> None:
    w = _world(client, clip)
    people = _ids_of(database, "leaver")
    uid = uuid.UUID(next(iter(people["user"])))
    assert _deactivate(client, w["leaver"]).status_code == 202
    storage = create_storage(settings)
    with database.unit_of_work() as db:
        assert erasure.do_claim(db, uid, now=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))

    class Crash(Exception):
        pass

    seen: list[str] = []

    def crash_after_three(step: str, rows: int) -> None:
        seen.append(step)
        if len(seen) == 3:
            raise Crash

    with pytest.raises(Crash):
        erasure.do_erase(database, storage, uid, batch=1, progress=crash_after_three)
    assert client.get("/api/v1/users/leaver").status_code == 404  # still hidden meanwhile
    left = erasure.plan(database, uid)
    assert sum(left.values()) > 0
    steps: dict[str, int] = {}
    result = erasure.do_erase(
        database,
        storage,
        uid,
        batch=1,
        progress=lambda s, n: steps.__setitem__(s, steps.get(s, 0) + n),
    )
    assert result.done
    assert result.files >= 3  # the video's original, picture and poster, counted as they go
    # Only what was left is done again (a row some cascade took along is not counted twice).
    assert set(steps) <= {k for k, v in left.items() if v}
    assert sum(steps.values()) <= sum(left.values())
    again = erasure.do_erase(database, storage, uid)
    assert not again.done and again.removed == {}
    assert _mentions_of_everything(database, people["ids"], "leaver") == []
    _no_drift(database)


def test_the_settings_page_deletes_the_account_after_the_password(client: TestClient) -> None:
    from tests.conftest import signup

    signup(client, "page.leaver")

    def token(path: str) -> str:
        return client.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]

    logged_in = client.post(
        "/login",
        data={"handle": "page.leaver", "password": PASSWORD, "csrf_token": token("/login")},
        follow_redirects=False,
    )
    assert logged_in.status_code == 303
    page = client.get("/settings")
    assert "<title>Settings · Playback</title>" in page.text
    assert page.text.count("Delete my account") == 1
    wrong = client.post(
        "/settings/delete-account",
        data={"password": "nope-nope-nope", "csrf_token": token("/settings")},
    )
    assert wrong.status_code == 403
    assert "The password is not right." in wrong.text
    assert client.get("/api/v1/users/page.leaver").status_code == 200
    gone = client.post(
        "/settings/delete-account",
        data={"password": PASSWORD, "csrf_token": token("/settings")},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    notice = client.get(gone.headers["location"])
    assert "will be erased" in notice.text
    assert client.get("/api/v1/users/page.leaver").status_code == 404
    assert client.get("/settings", follow_redirects=False).status_code == 303  # logged out
