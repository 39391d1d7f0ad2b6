"""Parsing user text: #hashtags and @mentions in captions and comments."""

from __future__ import annotations

import re
import unicodedata

# A hashtag is '#' then letters, digits or '_' in any script, not glued to a preceding word.
HASHTAG_RE = re.compile(r"(?<![\w#])#(\w{1,100})", re.UNICODE)
# A mention is '@' then a handle, not part of an email address (no word character before '@').
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9._]{2,24})(?![A-Za-z0-9_])")


def normalize_hashtag(tag: str) -> str:
    return unicodedata.normalize("NFKC", tag).casefold()


def parse_hashtags(text: str) -> list[str]:
    """Distinct hashtags in order of first appearance, normalised (NFKC, case-folded)."""
    seen: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(text):
        tag = normalize_hashtag(match.group(1))
        if not tag.isdigit():  # "#1" is a rank, not a topic
            seen.setdefault(tag, None)
    return list(seen)


def parse_mentions(text: str) -> list[str]:
    """Distinct mentioned handles (lower-case) in order of first appearance."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text):
        handle = match.group(1).lower().rstrip(".")
        if len(handle) >= 2:
            seen.setdefault(handle, None)
    return list(seen)
