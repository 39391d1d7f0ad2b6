"""Why a piece of media was refused or failed, as stable codes."""

from __future__ import annotations

import math

from playback.errors import Invalid


class MediaError(Invalid):
    """Media we will not process. The code says why; it is also stored on a failed video."""

    code = "corrupt_media"
    message = "The file could not be read as a video."


MESSAGES = {
    "unsupported_format": "Upload an MP4, MOV, M4V, WebM or MKV video.",
    "corrupt_media": "The file is damaged or not a video we can read.",
    "no_video_stream": "The file has no video in it.",
    "too_short": "A video is at least {min} long.",
    "too_long": "A video is at most {max} long.",
    "too_large": "The picture is too large: at most {side}×{side} pixels.",
    "frame_rate_too_high": "The frame rate is too high: at most {fps} frames a second.",
    "empty_file": "The file is empty.",
}


def media_error(code: str, **values: object) -> MediaError:
    return MediaError(MESSAGES[code].format(**values), code=code)


def duration_text(seconds: float) -> str:
    """A length as people say it: "1 second", "1.5 seconds", "10 minutes", "90 seconds"."""
    if seconds >= 120 and math.isclose(seconds % 60, 0, abs_tol=1e-9):
        minutes = round(seconds / 60)
        return f"{minutes} minutes"
    number = str(round(seconds)) if math.isclose(seconds, round(seconds)) else f"{seconds:g}"
    return f"{number} second" if number == "1" else f"{number} seconds"
