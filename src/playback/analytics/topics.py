"""Topics: which categories a video belongs to, read from its hashtags, its sound and its
caption.

A small, readable vocabulary per category (hashtags and caption words, matched whole, in any
case, with or without "#"). A video may belong to several topics; one that matches none is
"other". A licensed track (a sound of kind "track") makes a video "music" as well: lip-syncing
to a song is music content whatever its caption says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _vocabulary(text: str) -> frozenset[str]:
    return frozenset(text.split())


TOPICS: dict[str, frozenset[str]] = {
    "music": _vocabulary(
        "music song songs singing singer cover lipsync playback karaoke guitar piano rap "
        "beat beats dj producer musician choir band concert remix acoustic"
    ),
    "dance": _vocabulary(
        "dance dancing dancer dancechallenge choreo choreography tutorialdance ballet hiphop "
        "breakdance salsa tango kpop shuffle twerk moves"
    ),
    "comedy": _vocabulary(
        "comedy funny joke jokes lol prank sketch skit humor humour meme memes standup parody laugh"
    ),
    "beauty": _vocabulary(
        "beauty makeup skincare nails hair hairstyle grwm cosmetics lipstick fashion outfit "
        "ootd style"
    ),
    "tutorials": _vocabulary(
        "tutorial tutorials howto diy tips tip hack hacks lifehack guide stepbystep learnhow"
    ),
    "vlogs": _vocabulary(
        "vlog vlogs dayinmylife ditl travel storytime routine morningroutine life daily weekend"
    ),
    "sports": _vocabulary(
        "sport sports football soccer basketball tennis fitness gym workout running run "
        "yoga training skate skateboarding climbing"
    ),
    "food": _vocabulary(
        "food recipe recipes cooking cook baking bake foodie dinner lunch breakfast "
        "vegan pasta cake coffee"
    ),
    "learning": _vocabulary(
        "learn learning learnontiktok education science history math maths physics "
        "language languages study studytok facts fact explained"
    ),
}
OTHER = "other"
NAMES = (*TOPICS, OTHER)
_WORD = re.compile(r"[#]?([^\W_]+)", re.UNICODE)


def words(text: str) -> set[str]:
    return {m.group(1).casefold() for m in _WORD.finditer(text or "")}


def topics_of(
    *, hashtags: Iterable[str] = (), caption: str = "", sound_kind: str | None = None
) -> list[str]:
    """The video's topics, in ``NAMES`` order; ``["other"]`` when nothing matches."""
    seen = {h.casefold().lstrip("#") for h in hashtags} | words(caption)
    found = {name for name, vocabulary in TOPICS.items() if seen & vocabulary}
    if sound_kind == "track":
        found.add("music")
    return [name for name in NAMES if name in found] or [OTHER]


def topics_of_term(term: str) -> list[str]:
    """The topics a hashtag, a sound title or a search query speaks of."""
    return topics_of(caption=term)
