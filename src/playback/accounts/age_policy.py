"""The age policy: who may join, and what each age band may do.

One module holds every age rule so that a reviewer can read the platform's promises to teenagers in
one place. Age bands are computed from the birthdate whenever they are needed — a 15-year-old is 16
on their birthday without any job running. The minimum age is per country (default 13).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

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
    remixes: Audience  # who may duet or stitch their videos
    comments: Audience  # who may comment on their videos


BAND_RULES: dict[AgeBand, BandRules] = {
    # 13–15: nobody duets or stitches their videos; only friends comment.
    AgeBand.YOUNG_TEEN: BandRules(
        private_by_default=True,
        may_be_public=False,
        remixes=Audience.NOBODY,
        comments=Audience.FRIENDS,
    ),
    # 16–17: duets and stitches by friends only.
    AgeBand.OLDER_TEEN: BandRules(
        private_by_default=True,
        may_be_public=True,
        remixes=Audience.FRIENDS,
        comments=Audience.EVERYONE,
    ),
    AgeBand.ADULT: BandRules(
        private_by_default=False,
        may_be_public=True,
        remixes=Audience.EVERYONE,
        comments=Audience.EVERYONE,
    ),
}


def age_on(birthdate: dt.date, on: dt.date) -> int:
    """Whole years of age on a date (someone born on 29 February turns a year older on 1 March
    in common years)."""
    years = on.year - birthdate.year
    if (on.month, on.day) < (birthdate.month, birthdate.day):
        years -= 1
    return years


def age(birthdate: dt.date) -> int:
    return age_on(birthdate, today())


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


def rules_for(birthdate: dt.date) -> BandRules:
    return BAND_RULES[age_band(birthdate)]


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


def may_remix(creator_birthdate: dt.date, *, is_owner: bool, is_friend: bool) -> bool:
    """Whether someone may duet or stitch a creator's videos: never a 13–15-year-old's, a
    16–17-year-old's only as their friend (mutual follows)."""
    return _allows(rules_for(creator_birthdate).remixes, is_owner=is_owner, is_friend=is_friend)


def may_comment(creator_birthdate: dt.date, *, is_owner: bool, is_friend: bool) -> bool:
    """Whether someone may comment on a creator's videos: a 13–15-year-old's only as a friend."""
    return _allows(rules_for(creator_birthdate).comments, is_owner=is_owner, is_friend=is_friend)
