"""The age policy: who may join, and what each age band may do.

One module holds every age rule so that a reviewer can read the platform's promises to teenagers in
one place. Age bands are computed from the birthdate whenever they are needed — a 15-year-old is 16
on their birthday without any job running. The minimum age is per country (default 13).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import TZPATH, ZoneInfo, ZoneInfoNotFoundError

from playback.kit.time import today

DEFAULT_MINIMUM_AGE = 13

# Countries whose law or our own policy sets a higher minimum age than the default.
# ISO 3166-1 alpha-2 → minimum age in years.
MINIMUM_AGE_BY_COUNTRY: dict[str, int] = {
    "KR": 14,  # South Korea: personal data of under-14s needs a guardian's consent
}


class AgeBand(enum.StrEnum):
    YOUNG_TEEN = "13-15"
    OLDER_TEEN = "16-17"
    ADULT = "18+"


class Audience(enum.StrEnum):
    """Who may do something with a person's videos."""

    NOBODY = "nobody"
    FRIENDS = "friends"  # mutual follows
    EVERYONE = "everyone"


@dataclass(frozen=True)
class BandRules:
    private_by_default: bool
    may_be_public: bool
    suggested: bool  # shown to people who do not follow them (For You, account search)
    remixes: Audience  # who may duet or stitch their videos
    comments: Audience  # who may comment on their videos (by default)
    downloads: Audience  # who may download their videos
    # No notification is delivered live between these local times (held until the end).
    quiet_hours: tuple[dt.time, dt.time] | None
    daily_minutes: int | None  # the default daily screen-time limit (None: no limit)


BAND_RULES: dict[AgeBand, BandRules] = {
    # 13–15: private, never suggested to strangers; nobody duets, stitches or downloads their
    # videos; only friends comment; quiet from 21:00 to 08:00; an hour of screen time a day.
    AgeBand.YOUNG_TEEN: BandRules(
        private_by_default=True,
        may_be_public=False,
        suggested=False,
        remixes=Audience.NOBODY,
        comments=Audience.FRIENDS,
        downloads=Audience.NOBODY,
        quiet_hours=(dt.time(21), dt.time(8)),
        daily_minutes=60,
    ),
    # 16–17: duets and stitches by friends only; quiet from 22:00 to 08:00; an hour a day.
    AgeBand.OLDER_TEEN: BandRules(
        private_by_default=True,
        may_be_public=True,
        suggested=True,
        remixes=Audience.FRIENDS,
        comments=Audience.EVERYONE,
        downloads=Audience.EVERYONE,
        quiet_hours=(dt.time(22), dt.time(8)),
        daily_minutes=60,
    ),
    AgeBand.ADULT: BandRules(
        private_by_default=False,
        may_be_public=True,
        suggested=True,
        remixes=Audience.EVERYONE,
        comments=Audience.EVERYONE,
        downloads=Audience.EVERYONE,
        quiet_hours=None,
        daily_minutes=None,
    ),
}

# Per-country changes to the band rules (ISO 3166-1 alpha-2 → band → fields of BandRules),
# where a country's law or our policy there asks for more. Only ever narrower than the default.
COUNTRY_OVERRIDES: dict[str, dict[AgeBand, dict[str, Any]]] = {
    # United Kingdom (Age Appropriate Design Code: high privacy by default for every child):
    # 16–17-year-olds' videos are not downloaded and their quiet hours start at 21:00 too.
    "GB": {
        AgeBand.OLDER_TEEN: {"downloads": Audience.NOBODY, "quiet_hours": (dt.time(21), dt.time(8))}
    },
    # South Korea: younger teens get 40 minutes a day by default, and quiet hours until 07:00
    # are extended to 22:00–07:00 for 16–17.
    "KR": {
        AgeBand.YOUNG_TEEN: {"daily_minutes": 40},
        AgeBand.OLDER_TEEN: {"quiet_hours": (dt.time(22), dt.time(7))},
    },
}


class Person(Protocol):
    """What the rules need to know about someone (an account row fits)."""

    birthdate: dt.date
    country: str


def age_on(birthdate: dt.date, on: dt.date) -> int:
    """Whole years of age on a date (someone born on 29 February turns a year older on 1 March
    in common years)."""
    years = on.year - birthdate.year
    if (on.month, on.day) < (birthdate.month, birthdate.day):
        years -= 1
    return years


def age(birthdate: dt.date) -> int:
    return age_on(birthdate, today())


def born_by(years: int) -> dt.date:
    """The latest birthdate of someone at least ``years`` old today (for queries)."""
    now = today()
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February, and that year had none
        return now.replace(year=now.year - years, day=28)


def minimum_age(country: str) -> int:
    return MINIMUM_AGE_BY_COUNTRY.get(country.upper(), DEFAULT_MINIMUM_AGE)


def is_old_enough(birthdate: dt.date, country: str) -> bool:
    return age(birthdate) >= minimum_age(country)


def age_band(birthdate: dt.date) -> AgeBand:
    years = age(birthdate)
    if years < 16:
        return AgeBand.YOUNG_TEEN
    if years < 18:
        return AgeBand.OLDER_TEEN
    return AgeBand.ADULT


def rules_for(birthdate: dt.date, country: str | None = None) -> BandRules:
    """The rules of the band ``birthdate`` puts someone in, with their country's changes."""
    band = age_band(birthdate)
    changes = COUNTRY_OVERRIDES.get((country or "").upper(), {}).get(band)
    return replace(BAND_RULES[band], **changes) if changes else BAND_RULES[band]


def rules_of(person: Person) -> BandRules:
    return rules_for(person.birthdate, person.country)


def private_by_default(birthdate: dt.date) -> bool:
    return rules_for(birthdate).private_by_default


def may_be_public(birthdate: dt.date) -> bool:
    return rules_for(birthdate).may_be_public


def recommendable_to(creator_birthdate: dt.date, *, follows: bool) -> bool:
    """Whether a creator's videos may be recommended (For You) to someone: those of 13–15-year-
    olds only to people who follow them, never to strangers."""
    return follows or age_band(creator_birthdate) is not AgeBand.YOUNG_TEEN


def _allows(audience: Audience, *, is_owner: bool, is_friend: bool) -> bool:
    return is_owner or audience is Audience.EVERYONE or (audience is Audience.FRIENDS and is_friend)


_NARROWER = {Audience.EVERYONE: 0, Audience.FRIENDS: 1, Audience.NOBODY: 2}


def narrowest(*audiences: Audience | None) -> Audience:
    return max((a for a in audiences if a is not None), key=_NARROWER.__getitem__)


def may_remix(creator: Person, *, is_owner: bool, is_friend: bool) -> bool:
    """Whether someone may duet or stitch a creator's videos: never a 13–15-year-old's, a
    16–17-year-old's only as their friend (mutual follows)."""
    return _allows(rules_of(creator).remixes, is_owner=is_owner, is_friend=is_friend)


def comment_audience(creator: Person) -> Audience:
    """Who may comment: the band's rule, narrowed by the creator's own choice (or their
    parent's, through family pairing)."""
    chosen = getattr(creator, "comment_audience", None)
    return narrowest(rules_of(creator).comments, Audience(chosen) if chosen else None)


def may_comment(creator: Person, *, is_owner: bool, is_friend: bool) -> bool:
    """Whether someone may comment on a creator's videos: a 13–15-year-old's only as a friend."""
    return _allows(comment_audience(creator), is_owner=is_owner, is_friend=is_friend)


def may_download(creator: Person, *, is_owner: bool, is_friend: bool) -> bool:
    """Whether someone may download a creator's videos: never a 13–15-year-old's."""
    return _allows(rules_of(creator).downloads, is_owner=is_owner, is_friend=is_friend)


def suggested_to_strangers(creator: Person) -> bool:
    """Whether the account may be suggested to people who do not follow it (account search,
    For You): never a 13–15-year-old."""
    return rules_of(creator).suggested


def quiet_until(person: Person, time_zone: str, now: dt.datetime) -> dt.datetime | None:
    """When the person's quiet hours end, if ``now`` is inside them (in their time zone)."""
    hours = rules_of(person).quiet_hours
    if hours is None:
        return None
    start, end = hours
    local = now.astimezone(zone(time_zone))
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=local.tzinfo).astimezone(dt.UTC)


def daily_minutes(person: Person) -> int | None:
    """The daily screen-time limit: the person's own (or their parent's) setting, else the
    band's default; None or 0: no limit."""
    chosen = getattr(person, "screen_time_minutes", None)
    return chosen if chosen is not None else rules_of(person).daily_minutes


def zone(name: str) -> dt.tzinfo:
    """An IANA time zone, UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def default_time_zone(country: str) -> str:
    """The main time zone of a country (the first the tz database lists for it), else UTC."""
    return _country_zones().get(country.upper(), "UTC")


@functools.cache
def _country_zones() -> dict[str, str]:
    zones: dict[str, str] = {}
    for folder in TZPATH:
        table = Path(folder) / "zone.tab"
        if not table.exists():
            continue
        for line in table.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) >= 3:
                zones.setdefault(parts[0], parts[2])
        break
    return zones
