"""The ``playback`` command: serve, worker, migrate, demo."""

from __future__ import annotations

from typing import Annotated

import typer

from playback.analytics import cli as analytics_cli
from playback.config import get_settings
from playback.db import Database
from playback.recsys import cli as recsys_cli
from playback.sounds import cli as sounds_cli

cli = typer.Typer(
    name="playback",
    help="Playback: an open-source, self-hostable short-video platform.",
    no_args_is_help=True,
    add_completion=False,
)

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def _migrated_database() -> Database:
    from playback.db import get_database
    from playback.migrations import upgrade

    database = get_database()
    upgrade(database.engine)
    return database


def _serve(host: str, port: int, banner: str | None = None) -> None:
    import uvicorn

    from playback.app import create_app

    settings = get_settings()
    database = _migrated_database()
    app = create_app(settings, database=database, run_jobs=settings.embedded_jobs, warm=True)
    if banner:
        typer.echo(banner)
    if not settings.embedded_jobs:
        typer.echo("Jobs go to Redis: run `playback worker` processes to work them off.")
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_config=None)


@cli.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Run the web server. Embedded mode (no PLAYBACK_DATABASE_URL / PLAYBACK_REDIS_URL) keeps
    everything under PLAYBACK_DATA_DIR and works jobs off in this process."""
    _serve(host, port)


@cli.command()
def worker(
    workers: Annotated[int, typer.Option(help="Worker threads in this process.")] = 2,
) -> None:
    """Work off background jobs (transcoding, erasure, reports…) from the job queue."""
    from playback import jobs
    from playback.kit.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    _migrated_database()
    jobs.configure_jobs(settings)
    jobs.load_tasks()
    jobs.start_consumer(workers, in_process=False).run()


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    database = _migrated_database()
    typer.echo(
        f"Database is up to date ({database.engine.url.render_as_string(hide_password=True)})."
    )


@cli.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Run the server with demo accounts (and, as they arrive, demo videos and sounds)."""
    from playback import jobs
    from playback.demo import (
        seed_demo,
        seed_demo_catalog,
        seed_demo_engagement,
        seed_demo_remixes,
        seed_demo_videos,
    )
    from playback.storage import create_storage

    settings = get_settings()
    storage = create_storage(settings)
    database = _migrated_database()
    with database.unit_of_work() as db:
        logins = seed_demo(db)
    typer.echo("Delivering the demo music catalog (DDEX ERN 4)…")
    catalog = seed_demo_catalog(database, storage, settings)
    if catalog not in ("imported", "present"):
        typer.echo(f"  the demo catalog was refused: {catalog}", err=True)
    typer.echo("Preparing the demo videos…")
    # Demo clips are processed right here (in moments), so the feed is full at once.
    jobs.configure_jobs(settings, immediate=True)
    with database.unit_of_work() as db:
        seed_demo_videos(db, storage, settings)
    with database.unit_of_work() as db:
        seed_demo_remixes(db, storage, settings)
    with database.unit_of_work() as db:
        seed_demo_engagement(db)
    _seed_demo_history(database)
    from playback.recsys.platform import do_train

    do_train(database, settings)  # For You starts with a model learned from the demo's history
    jobs.configure_jobs(settings)
    lines = [
        "",
        f"  Playback demo is running at http://{host}:{port}/",
        "",
        "  Demo logins (handle / password):",
        *(f"    {login.handle:<12} {login.password:<16} {login.note}" for login in logins),
        "",
    ]
    _serve(host, port, banner="\n".join(lines))


def _seed_demo_history(database: Database) -> None:
    """Months of views, likes, follows and searches behind the demo (once), with progress."""
    from rich.console import Console

    from playback.demo_history import seed_demo_history
    from playback.kit.progress import step_bars

    console = Console(stderr=True)
    with step_bars(console) as report:
        history = seed_demo_history(database, progress=report)
    if history.seeded:
        console.print(
            f"  {history.months} months of demo history: {history.accounts} accounts, "
            f"{history.watch_events:,} watch events, {history.likes:,} likes, "
            f"{history.follows:,} follows ({history.seconds:.0f} s)"
        )


@cli.command()
def reconcile(
    check_only: Annotated[
        bool, typer.Option("--check-only", help="Report drift without repairing it.")
    ] = False,
) -> None:
    """Recompute every cached count (likes, total likes, views, followers…) from the rows that
    are the truth, report the drift found, and repair it. Drift should always be 0."""
    from rich.console import Console
    from rich.table import Table

    from playback.engagement.reconcile import do_reconcile

    database = _migrated_database()
    console = Console()
    with console.status("Reconciling counts…"):
        report = do_reconcile(database, repair=not check_only)
    table = Table("count", "rows with drift", "total drift", "examples")
    for drift in report:
        table.add_row(drift.counter, str(drift.rows), str(drift.total), "\n".join(drift.examples))
    console.print(table)
    total = sum(d.total for d in report)
    console.print(f"Drift: {total}" + ("" if check_only or not total else " (repaired)"))
    if total and check_only:
        raise typer.Exit(1)


@cli.command()
def role(
    handle: Annotated[str, typer.Argument(help="the account's handle")],
    name: Annotated[str, typer.Argument(help="user, moderator or admin")],
) -> None:
    """Give an account a role: moderators see the report queue and decide on reports."""
    from playback.accounts import service as accounts

    if name not in ("user", *accounts.MODERATOR_ROLES):
        raise typer.BadParameter("the role is user, moderator or admin", param_hint="NAME")
    database = _migrated_database()
    with database.unit_of_work() as db:
        user = accounts.get_user_by_handle(db, handle)
        if user is None:
            raise typer.BadParameter(f"no account @{handle}", param_hint="HANDLE")
        if user.role == accounts.BANNED:
            raise typer.BadParameter(f"@{handle} is banned", param_hint="HANDLE")
        user.role = name
    typer.echo(f"@{user.handle} is now {name}")


@cli.command()
def erase(
    handle: Annotated[
        str | None, typer.Argument(help="one deactivated account (default: every one due)")
    ] = None,
    now: Annotated[
        bool, typer.Option("--now", help="erase it before its grace period is over")
    ] = False,
) -> None:
    """Erase deactivated accounts whose grace period is over, now, with progress (the worker
    does this every hour on its own)."""
    from rich.console import Console
    from rich.progress import TaskID

    from playback.accounts import service as accounts
    from playback.accounts.models import DEACTIVATED, ERASING
    from playback.config import get_settings
    from playback.kit.progress import progress_bar
    from playback.kit.time import utcnow
    from playback.lifecycle import erasure
    from playback.storage import create_storage

    database = _migrated_database()
    storage = create_storage(get_settings())
    with database.unit_of_work() as db:
        if handle is None:
            due = erasure.list_due(db, limit=1_000_000)
        else:
            user = accounts.get_user_by_handle(db, handle)
            if user is None or user.status not in (DEACTIVATED, ERASING):
                raise typer.BadParameter(f"no deactivated account @{handle}", param_hint="HANDLE")
            if now and user.erase_after is not None and user.erase_after > utcnow():
                user.erase_after = utcnow()
            due = [user.id]
    erased = 0
    with progress_bar(Console(stderr=True)) as bar:
        for user_id in due:
            with database.unit_of_work() as db:
                if not erasure.do_claim(db, user_id):
                    continue
            totals = erasure.plan(database, user_id)
            task = bar.add_task(f"erasing {user_id}", total=sum(totals.values()))

            def advance(_step: str, rows: int, task: TaskID = task) -> None:
                bar.advance(task, rows)

            result = erasure.do_erase(database, storage, user_id, progress=advance)
            erased += result.done
    typer.echo(f"{erased} account(s) erased")


cli.add_typer(sounds_cli.app, name="sounds")
cli.add_typer(recsys_cli.app, name="recsys")
cli.add_typer(analytics_cli.app, name="insights")


def main() -> None:
    cli()
