"""Recommender jobs: train the For You model from the platform's events every night."""

from __future__ import annotations

from huey import crontab

from playback.config import get_settings
from playback.db import get_database
from playback.jobs import huey
from playback.recsys.platform import do_train


@huey.periodic_task(crontab(hour="4", minute="30"))
def train_recommender() -> int:
    """Nightly (04:30 UTC): between trainings, session signals move each viewer's next page."""
    result = do_train(get_database(), get_settings())
    return result.items
