"""Alembic migrations: one chain that runs on SQLite and PostgreSQL alike.

``playback migrate`` (and ``serve``/``demo`` at start) call :func:`upgrade`. A new revision:
``alembic -c src/playback/migrations/alembic.ini revision --autogenerate -m "..."`` — then read it,
and keep it portable (batch mode is on for SQLite's ALTER TABLE).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).parent


def alembic_config(engine: Engine | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser escaping
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(engine, connection), revision)
