"""Trends, content gaps and suggestions, from real watch events and real searches.

Five creators post through the API; viewers in Germany and France watch over five weeks (the
clock placed on each day): a hashtag steady at 15 plays a day for a month, a new one
(#sunsetdance) at 11 a day for the last three days, a French food hashtag rising in France only,
and a dancer with one little-watched video. The rollup job adds it all up, and everything is read
back through the API: growth against a key's own baseline beats raw size, per country and per
topic; searches (anonymous ones included) become content gaps; suggestions follow a creator's
topics and carry the API's own numbers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.analytics import rollups, trends
from playback.analytics.models import SearchDay
from playback.analytics.suggestions import SUGGEST_MIN_GROWTH, CreatorTopics
from playback.db import Database
from playback.kit.time import UTC, set_clock
from playback.media.models import Video
from tests.conftest import post_video, signup_and_login

FAR = dt.datetime(2100, 1, 1, tzinfo=UTC)
# The moment every figure is read at: noon today, so the recent window is 3.5 days long.
NOON = dt.datetime.combine(dt.datetime.now(UTC).date(), dt.time(12), UTC)
STEADY_A_DAY = 15
DAYS = 31  # the steady hashtag is watched every day of the baseline and the recent window


def at(days_ago: int, second: int = 0) -> dt.datetime:
    return NOON - dt.timedelta(days=days_ago) + dt.timedelta(seconds=second)


def watch(
    client: TestClient, video: str, headers: dict[str, str], days_ago: int, times: int
) -> None:
    """``times`` plays of the whole video on a day (each a watch event; views may be fewer)."""
    for i in range(times):
        set_clock(lambda d=days_ago, i=i: at(d, i))
        response = client.post(
            f"/api/v1/videos/{video}/views",
            json={"watched_ms": 5000, "source": "for_you"},
            headers=headers,
        )
        assert response.status_code == 201, response.text


@pytest.fixture
def reading_at_noon() -> Iterator[None]:
    set_clock(lambda: NOON)
    yield
    set_clock(None)


@pytest.fixture
def world(client: TestClient, database: Database, clip: Path) -> dict[str, Any]:
    people = {}
    for handle, country in [
        ("tr_dana", "DE"),
        ("tr_ben", "DE"),
        ("tr_stan", "DE"),
        ("tr_fleur", "FR"),
        ("tr_mia", "DE"),
        ("tr_viewer_de", "DE"),
        ("tr_viewer_fr", "FR"),
    ]:
        people[handle] = signup_and_login(client, handle, country=country)
    set_clock(lambda: at(DAYS + 2))
    videos = {
        "dana": post_video(client, people["tr_dana"][1], clip, caption="#sunsetdance #dance"),
        "ben": post_video(client, people["tr_ben"][1], clip, caption="#sunsetdance #dance moves"),
        "stan": post_video(client, people["tr_stan"][1], clip, caption="#steadytag #comedy"),
        "fleur": post_video(client, people["tr_fleur"][1], clip, caption="#parisfood #food"),
        "mia": post_video(client, people["tr_mia"][1], clip, caption="#dance practice"),
    }
    de, fr = people["tr_viewer_de"][1], people["tr_viewer_fr"][1]
    for days_ago in range(DAYS, 0, -1):
        watch(client, videos["stan"], de, days_ago, STEADY_A_DAY)
    for days_ago in (3, 2, 1):
        watch(client, videos["dana"], de, days_ago, 8)
        watch(client, videos["ben"], de, days_ago, 3)
        watch(client, videos["fleur"], fr, days_ago, 8)
    watch(client, videos["mia"], de, 10, 2)
    set_clock(None)
    assert rollups.roll_all(database, until=FAR) == STEADY_A_DAY * DAYS + 3 * 19 + 2
    with database.unit_of_work() as db:
        sounds = {
            name: str(db.get(Video, uuid.UUID(video_id)).sound_id)
            for name, video_id in videos.items()
        }
    assert None not in sounds.values()
    return {"people": people, "videos": videos, "sounds": sounds}


def items(client: TestClient, path: str, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return {item["key"]: item for item in response.json()["items"]}


def test_growth_against_its_own_baseline_beats_raw_size(
    client: TestClient, world: dict[str, Any], reading_at_noon: None
) -> None:
    response = client.get("/api/v1/trends/hashtags", params={"country": "DE"})
    assert response.status_code == 200, response.text
    body = response.json()
    window = body["window"]
    assert window["recent_days"] == 3.5  # 3 full days and half of today
    assert window["baseline_days"] == 28
    assert window["recent_to"] == NOON.date().isoformat()
    ranked = [item["key"] for item in body["items"]]
    new, steady = (
        next(i for i in body["items"] if i["key"] == k) for k in ("sunsetdance", "steadytag")
    )

    # The steady hashtag is bigger in every raw figure, yet the new one ranks first.
    assert steady["recent_plays"] == 3 * STEADY_A_DAY > new["recent_plays"] == 33
    assert steady["baseline_plays"] == 28 * STEADY_A_DAY and new["baseline_plays"] == 0
    assert ranked.index("sunsetdance") < ranked.index("steadytag")
    assert new["recent_daily_plays"] == round(33 / 3.5, 1)
    assert new["baseline_daily_plays"] == 0.0
    assert new["growth"] == round((33 / 3.5 + 10) / 10, 2)  # 1.94
    assert steady["baseline_daily_plays"] == 15.0
    assert steady["growth"] == round((45 / 3.5 + 10) / (15 + 10), 2)  # 0.91: steady, not rising
    assert new["videos"] == 2 and steady["videos"] == 1
    assert new["topics"] == ["dance"]  # from its videos: the name alone says nothing
    assert steady["topics"] == ["comedy"]
    # The daily series: 14 days to today, the last three days' plays at the end.
    assert [p["plays"] for p in new["series"]] == [0] * 10 + [11, 11, 11, 0]
    assert [p["plays"] for p in steady["series"]] == [15] * 13 + [0]
    assert new["series"][-1]["day"] == NOON.date().isoformat()
    # Growth orders the whole list.
    growths = [item["growth"] for item in body["items"]]
    assert growths == sorted(growths, reverse=True)


def test_rising_per_country_and_per_topic(
    client: TestClient, world: dict[str, Any], reading_at_noon: None
) -> None:
    germany = items(client, "/api/v1/trends/hashtags", country="DE")
    france = items(client, "/api/v1/trends/hashtags", country="fr")  # any case
    everywhere = items(client, "/api/v1/trends/hashtags")
    assert {"sunsetdance", "dance", "steadytag", "comedy"} <= germany.keys()
    assert "parisfood" not in germany and "food" not in germany
    assert set(france) == {"parisfood", "food"}
    assert france["parisfood"]["recent_plays"] == 24
    assert {"sunsetdance", "parisfood", "steadytag"} <= everywhere.keys()
    # #dance: both sunset dances, and the dancer's two plays ten days ago in its baseline.
    assert germany["dance"]["recent_plays"] == 33 and germany["dance"]["baseline_plays"] == 2
    assert germany["dance"]["videos"] == 3

    dance = items(client, "/api/v1/trends/hashtags", country="DE", topic="dance")
    assert set(dance) == {"sunsetdance", "dance"}
    comedy = items(client, "/api/v1/trends/hashtags", topic="comedy")
    assert set(comedy) == {"steadytag", "comedy"}
    food = items(client, "/api/v1/trends/hashtags", topic="food")
    assert set(food) == {"parisfood", "food"}
    assert items(client, "/api/v1/trends/hashtags", country="FR", topic="dance") == {}

    # Sounds: each upload's original sound, with the plays of the videos using it.
    sounds = world["sounds"]
    response = client.get("/api/v1/trends/sounds", params={"country": "DE"})
    body = response.json()
    keys = [item["key"] for item in body["items"]]
    assert keys.index(sounds["dana"]) < keys.index(sounds["stan"])
    assert sounds["ben"] not in keys  # 9 recent plays: too few to tell
    dana = body["items"][keys.index(sounds["dana"])]
    assert dana["title"] == "original sound – @tr_dana"
    assert dana["sound_kind"] == "original" and dana["artist"] is None
    assert dana["recent_plays"] == 24 and dana["topics"] == ["dance"]
    assert set(items(client, "/api/v1/trends/sounds", topic="food")) == {sounds["fleur"]}
    assert items(client, "/api/v1/trends/sounds", country="FR", topic="comedy") == {}


def test_limits_and_hidden_keys(
    client: TestClient, world: dict[str, Any], database: Database, reading_at_noon: None
) -> None:
    response = client.get("/api/v1/trends/hashtags", params={"limit": 2})
    assert [i["rank"] for i in response.json()["items"]] == [1, 2]
    # A hashtag no one may see a video of is no longer listed (nor is its sound): here its
    # only creator made her account private.
    fleur = world["people"]["tr_fleur"][1]
    response = client.patch("/api/v1/me", json={"private": True}, headers=fleur)
    assert response.status_code == 200, response.text
    assert "parisfood" not in items(client, "/api/v1/trends/hashtags", country="FR")
    assert world["sounds"]["fleur"] not in items(client, "/api/v1/trends/sounds")


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/trends/hashtags", {"country": "XX"}, "bad_country"),
        ("/api/v1/trends/hashtags", {"country": "Germany"}, "bad_country"),
        ("/api/v1/trends/sounds", {"country": "ZZ"}, "bad_country"),  # unknown is no country
        ("/api/v1/trends/sounds", {"country": "D1"}, "bad_country"),
        ("/api/v1/trends/hashtags", {"topic": "cats"}, "bad_topic"),
        ("/api/v1/trends/sounds", {"topic": "Dance!"}, "bad_topic"),
        ("/api/v1/trends/hashtags", {"limit": "0"}, "validation_error"),
        ("/api/v1/trends/searches", {"limit": "51"}, "validation_error"),
    ],
)
def test_bad_filters_are_422(
    client: TestClient, path: str, params: dict[str, str], code: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_the_trends_page_refuses_a_bad_country(client: TestClient) -> None:
    response = client.get("/trends?country=XX", headers={"accept": "text/html"})
    assert response.status_code == 422
    assert 'data-code="bad_country"' in response.text
    assert client.get("/trends", headers={"accept": "text/html"}).status_code == 200


def search(client: TestClient, q: str, times: int, headers: dict[str, str] | None = None) -> int:
    found = 0
    for _ in range(times):
        response = client.get("/api/v1/search", params={"q": q}, headers=headers or {})
        assert response.status_code == 200, response.text
        found = len(response.json()["items"])
    return found


def test_searches_become_content_gaps_without_anyone_behind_them(
    client: TestClient, world: dict[str, Any], database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer = world["people"]["tr_viewer_de"][1]
    assert search(client, "pasta recipe", 4) == 0  # anonymous
    assert search(client, "  Pasta   RECIPE ", 2, viewer) == 0  # the same term, logged in
    assert search(client, "sunsetdance", 6) == 2
    assert search(client, "steadytag", 5) == 1
    assert search(client, "rarely", 4) == 0  # below the minimum: could be one person
    assert (
        client.get("/api/v1/search", params={"q": "pasta", "type": "accounts"}).status_code == 200
    )

    # What is kept: the normalised term, the day and the sums. Nothing about the searcher.
    assert {c.name for c in SearchDay.__table__.columns} == {"term", "day", "searches", "results"}
    with database.unit_of_work() as db:
        rows = {r.term: r for r in db.scalars(sa.select(SearchDay))}
    assert set(rows) == {"pasta recipe", "sunsetdance", "steadytag", "rarely"}
    assert rows["pasta recipe"].searches == 6 and rows["pasta recipe"].results == 0
    assert rows["sunsetdance"].searches == 6 and rows["sunsetdance"].results == 12

    response = client.get("/api/v1/trends/searches")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["min_searches"] == 5
    gaps = {g["term"]: g for g in body["items"]}
    # Widest gap first: searches per good video (plus one). 6, then 5 / 2, then 6 / 3.
    assert [g["term"] for g in body["items"]] == ["pasta recipe", "steadytag", "sunsetdance"]
    assert gaps["pasta recipe"] | {"rank": 0} == {
        "rank": 0,
        "term": "pasta recipe",
        "searches": 6,
        "average_results": 0.0,
        "videos": 0,
        "good_videos": 0,
        "topics": ["food"],
    }
    # The steady video was watched through 465 times: one good video, still a gap (≤ 3).
    assert gaps["steadytag"]["good_videos"] == 1 and gaps["steadytag"]["videos"] == 1
    assert gaps["steadytag"]["average_results"] == 1.0
    assert gaps["sunsetdance"]["good_videos"] == 2 and gaps["sunsetdance"]["average_results"] == 2

    # A term more good videos answer than GAP_MAX_GOOD is served, not a gap.
    monkeypatch.setattr(trends, "GAP_MAX_GOOD", 1)
    body = client.get("/api/v1/trends/searches").json()
    assert [g["term"] for g in body["items"]] == ["pasta recipe", "steadytag"]

    # The search page counts its searches the same way.
    assert client.get("/search", params={"q": "Pasta recipe"}).status_code == 200
    with database.unit_of_work() as db:
        counted = db.scalar(sa.select(SearchDay.searches).where(SearchDay.term == "pasta recipe"))
    assert counted == 7


def test_suggestions_follow_the_creators_topics_with_the_apis_numbers(
    client: TestClient, world: dict[str, Any], reading_at_noon: None
) -> None:
    search(client, "pasta recipe", 6)
    mia = world["people"]["tr_mia"][1]
    response = client.get("/api/v1/studio/suggestions", headers=mia)
    assert response.status_code == 200, response.text
    suggestions = response.json()["items"]
    assert 1 <= len(suggestions) <= 5
    germany = items(client, "/api/v1/trends/hashtags", country="DE")
    german_sounds = items(client, "/api/v1/trends/sounds", country="DE")
    # The dancer's first suggestions are the rising dance hashtags and sound, in Germany.
    dance = [s for s in suggestions if s["topic"] == "dance"]
    assert {(s["kind"], s["key"]) for s in dance} == {
        ("hashtag", "sunsetdance"),
        ("hashtag", "dance"),
        ("sound", world["sounds"]["dana"]),
    }
    assert suggestions[: len(dance)] == dance
    sunset = next(s for s in suggestions if s["key"] == "sunsetdance")
    trend = germany["sunsetdance"]
    assert sunset["evidence"] | {"your_views_share_in_topic": None} == {
        "country": "DE",
        "growth": trend["growth"],
        "recent_plays": trend["recent_plays"],
        "recent_daily_plays": trend["recent_daily_plays"],
        "baseline_plays": trend["baseline_plays"],
        "baseline_daily_plays": trend["baseline_daily_plays"],
        "videos": trend["videos"],
        "topics": trend["topics"],
        "your_videos_in_topic": 1,
        "your_recent_videos": 1,
        "your_views_share_in_topic": None,
    }
    assert sunset["title"] == "#sunsetdance"
    assert sunset["reason"] == (
        "#sunsetdance is up 1.9× in DE over the last 3 days (9.4 plays a day against 0); "
        "your only video is dance."
    )
    sound = next(s for s in suggestions if s["kind"] == "sound")
    assert sound["evidence"]["growth"] == german_sounds[world["sounds"]["dana"]]["growth"]
    # What fills the list is rising elsewhere, and says nothing about the dancer's topics.
    for s in suggestions[len(dance) :]:
        assert "your" not in s["reason"] and "your_videos_in_topic" not in s["evidence"]
        assert s["evidence"]["growth"] >= SUGGEST_MIN_GROWTH
    # The steady hashtag is never suggested: it is not rising.
    assert "steadytag" not in {s["key"] for s in suggestions}

    # A food creator in France is pointed at the rising food hashtag and at the search gap.
    fleur = world["people"]["tr_fleur"][1]
    for_fleur = client.get("/api/v1/studio/suggestions", headers=fleur).json()["items"]
    by_key = {s["key"]: s for s in for_fleur}
    assert (
        by_key["parisfood"]["topic"] == "food"
        and by_key["parisfood"]["evidence"]["country"] == "FR"
    )
    gap = by_key["pasta recipe"]
    assert gap["kind"] == "search" and gap["topic"] == "food"
    assert gap["evidence"]["searches"] == 6 and gap["evidence"]["good_videos"] == 0
    assert gap["reason"] == (
        "“pasta recipe” was searched 6 times in the last 7 days and no good video answers it "
        "yet; your only video is food."
    )


def test_a_creator_without_videos_gets_the_platforms_rising_items(
    client: TestClient, world: dict[str, Any], reading_at_noon: None
) -> None:
    _, newcomer = signup_and_login(client, "tr_newcomer", country="FR")
    suggestions = client.get("/api/v1/studio/suggestions", headers=newcomer).json()["items"]
    assert len(suggestions) == 5
    france = items(client, "/api/v1/trends/hashtags", country="FR")
    first = suggestions[0]
    assert first["evidence"]["growth"] == max(s["evidence"]["growth"] for s in suggestions)
    parisfood = next(s for s in suggestions if s["key"] == "parisfood")
    assert parisfood["evidence"]["growth"] == france["parisfood"]["growth"]
    for s in suggestions:
        assert " is up " in s["reason"] and "plays a day" in s["reason"]
        assert "your" not in s["reason"]
        text = s["reason"].lower()
        assert not any(w in text for w in ("streak", "post more", "every day", "more often"))
    assert client.get("/api/v1/studio/suggestions").status_code == 401


def test_record_search_normalises_and_adds_up(database: Database) -> None:
    with database.unit_of_work() as db:
        trends.record_search(db, "  Sunset\tDANCE  ", 3)
        trends.record_search(db, "sunset dance", 2)
        trends.record_search(db, "x" * 150, 0)
        trends.record_search(db, "   ", 9)  # nothing to count
    with database.unit_of_work() as db:
        rows = {r.term: (r.searches, r.results) for r in db.scalars(sa.select(SearchDay))}
    assert rows == {"sunset dance": (2, 5), "x" * 100: (1, 0)}
    assert trends.normalize_term("Straße") == "strasse"


def test_what_a_suggestion_says_about_the_creators_videos() -> None:
    mine = CreatorTopics(
        shares={"dance": 0.7, "comedy": 0.2, "food": 0.1},
        recent={"dance": 10, "comedy": 3},
        recent_count=10,
    )
    assert mine.say("dance") == "all of your last 10 videos are dance"
    assert mine.say("comedy") == "3 of your last 10 videos are comedy"
    assert mine.say("food") == "your food videos brought 10 % of your views"
    assert mine.matched(["other", "comedy", "dance"]) == "dance"
    assert mine.matched(["other", "music"]) is None
    few = CreatorTopics(shares={"dance": 1.0}, recent={"dance": 2}, recent_count=4)
    assert few.say("dance") == "2 of your 4 videos are dance"
