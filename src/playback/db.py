"""Database engine, sessions and the unit of work.

Every web request and every job runs in one unit of work: a session that is committed once at the
end (or rolled back on error). Side effects registered with :func:`after_commit` — enqueued jobs,
live events — run only once that commit has succeeded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from playback.config import Settings, get_settings

_AFTER_COMMIT = "playback_after_commit"
_AFTER_ROLLBACK = "playback_after_rollback"


SQLITE_MMAP_BYTES = 4 << 30
SQLITE_CACHE_KIB = 32 << 10


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (BEGIN IMMEDIATE below),
            # so that concurrent writers wait on the busy timeout instead of failing to upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Reads go through a memory map of the file (the operating system's page cache,
            # shared by every connection) instead of a read call per page; each connection
            # keeps a 32 MiB page cache of its own besides.
            cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front; readers never block anyone in WAL mode.
            write = conn.get_execution_options().get("playback_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    def __init__(self, settings: Settings, **engine_kwargs: Any) -> None:
        self.settings = settings
        if settings.embedded_database:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.url = settings.sqlalchemy_url
        self.engine = create_db_engine(self.url, **engine_kwargs)
        # On SQLite a unit of work that will write begins with BEGIN IMMEDIATE (see above); on
        # PostgreSQL the option is ignored.
        self.sessionmaker = sessionmaker(
            self.engine.execution_options(playback_write=True), expire_on_commit=False
        )
        self.read_sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """A session committed once when the block ends, rolled back if it raises."""
        session = (self.sessionmaker if write else self.read_sessionmaker)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            _run_rollback_hooks(session)  # also when no SQL had begun a transaction
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def insert_or_ignore(session: Session, table: Any, **values: Any) -> bool:
    """INSERT a row unless one with the same key exists; True when it was inserted. One
    statement on both databases (ON CONFLICT DO NOTHING), so concurrent requests never fail."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).values(**values).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    # RETURNING tells reliably whether a row went in (rowcount is not, on every driver).
    return session.execute(stmt.returning(sa.literal(1))).first() is not None


def upsert_add(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    keys: list[str],
    adds: list[str],
    *,
    replace: list[str] | None = None,
) -> None:
    """INSERT each row, or add its ``adds`` columns to the row already under its ``keys`` (and
    overwrite its ``replace`` columns): one executemany on both databases (ON CONFLICT DO
    UPDATE), so sums never race."""
    if not rows:
        return
    core = getattr(table, "__table__", table)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(core)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(core)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c: core.c[c] + stmt.excluded[c] for c in adds}
        | {c: stmt.excluded[c] for c in replace or ()},
    )
    session.execute(stmt, rows)


def after_commit(session: Session, fn: Callable[[], Any]) -> None:
    """Run ``fn`` once the session's current transaction has committed; drop it on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append(fn)


def after_rollback(session: Session, fn: Callable[[], Any]) -> None:
    """Run ``fn`` if the session's current transaction rolls back (undo work done outside the
    database, such as a file already written); drop it on commit."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(fn)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # Releasing a SAVEPOINT fires after_commit too; only the real commit counts.
    if session.in_nested_transaction():
        return
    session.info.pop(_AFTER_ROLLBACK, None)
    for fn in session.info.pop(_AFTER_COMMIT, []):
        fn()


@event.listens_for(Session, "after_soft_rollback")
def _run_after_rollback(session: Session, _previous: Any) -> None:
    if session.in_transaction():
        return
    _run_rollback_hooks(session)


def _run_rollback_hooks(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    for fn in session.info.pop(_AFTER_ROLLBACK, []):
        fn()


_database: Database | None = None


def get_database() -> Database:
    global _database  # noqa: PLW0603 - one engine per process
    if _database is None:
        _database = Database(get_settings())
    return _database


def set_database(database: Database | None) -> None:
    global _database  # noqa: PLW0603
    _database = database
