"""Safety jobs: the weekly screen-time summary for everyone under 18."""

from __future__ import annotations

from huey import crontab

from playback.db import get_database
from playback.engagement.notifications import do_notify
from playback.jobs import huey
from playback.safety import screen_time


@huey.periodic_task(crontab(day_of_week="1", hour="9", minute="0"))
def send_weekly_screen_time() -> int:
    """Mondays: tell each teenager how long they watched last week."""
    with get_database().unit_of_work() as db:
        summaries = screen_time.list_weekly_summaries(db)
        for user, minutes in summaries:
            do_notify(db, user.id, "screen_time_summary", value=minutes)
    return len(summaries)
