"""``playback sounds``: the music catalog from the command line (label deliveries, usage
reports, applying licences now). Heavy imports wait inside the commands, so
``playback --help`` stays fast."""

from __future__ import annotations

import enum
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from playback.sounds.ingest import ImportReport

app = typer.Typer(
    help="The music catalog: label deliveries, usage reports and licences.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("import")
def import_delivery(
    delivery: Annotated[
        Path, typer.Argument(help="The ERN 4 NewReleaseMessage (XML).", show_default=False)
    ],
    files: Annotated[
        Path,
        typer.Option(
            "--files",
            help="The folder with the delivery's audio and images; the message's file URIs are "
            "paths inside it, and nothing outside it is read.",
            show_default=False,
        ),
    ],
    max_clip_seconds: Annotated[
        int | None,
        typer.Option(
            "--max-clip-seconds",
            min=1,
            help="The longest clip creators may use these tracks for (ERN has no element for "
            "it). Default: 60.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Import a label delivery (DDEX ERN 4), completely or not at all.

    A refused delivery changes nothing, and every problem with it is listed."""
    from rich.console import Console

    from playback.config import get_settings
    from playback.db import get_database
    from playback.kit.progress import step_bars
    from playback.migrations import upgrade
    from playback.sounds.ingest import do_import_delivery
    from playback.storage import create_storage

    settings = get_settings()
    database = get_database()
    upgrade(database.engine)
    console = Console()
    with step_bars(console) as progress:
        report = do_import_delivery(
            database,
            create_storage(settings),
            settings,
            delivery,
            files,
            max_clip_ms=max_clip_seconds * 1000 if max_clip_seconds else None,
            progress=progress,
        )
    _print_report(console, report)
    if not report.imported:
        raise typer.Exit(1)


def _print_report(console: Console, report: ImportReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    message = escape(f"{report.message_id or '?'} from {report.sender_party_id or '?'}")
    if not report.imported:
        console.print(
            f"[bold red]Refused[/] {escape(str(report.xml_path))} (message {message}): "
            f"{len(report.problems)} problem(s); nothing was imported."
        )
        table = Table("code", "where", "problem")
        for problem in report.problems:
            table.add_row(problem.code, escape(problem.where), escape(problem.message))
        console.print(table)
        return
    console.print(
        f"[bold green]Imported[/] message {message} "
        f"({'new delivery' if report.delivery_created else 'delivered before: updated'})."
    )
    table = Table("ISRC", "title", "track", "licences")
    for track in report.tracks:
        table.add_row(track.isrc, escape(track.title), track.status, str(track.licences))
    console.print(table)
    console.print(
        f"Tracks: {report.count('created')} created, {report.count('updated')} updated, "
        f"{report.count('superseded')} superseded by a later message. "
        f"Labels: {report.labels_created} created, {report.labels_updated} updated. "
        f"Licences: {report.licences_written} written, {report.licences_replaced} replaced."
    )


class ReportFormat(enum.StrEnum):
    csv = "csv"
    dsr = "dsr"


@app.command("report")
def report(
    label: Annotated[
        str,
        typer.Option("--label", help="The label's id or DDEX party id.", show_default=False),
    ],
    period: Annotated[
        str, typer.Option("--period", help="The month, YYYY-MM (UTC).", show_default=False)
    ],
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", help="csv, or dsr: a DDEX DSR-style tab-separated flat file."),
    ] = ReportFormat.csv,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            dir_okay=False,
            help="The file to write. Default: standard output.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """A label's usage report for a month: per territory and track, the videos made with the
    track, their plays and the seconds of it played (see src/playback/sounds/README.md).

    A bad period or an unknown label writes nothing and exits with 1."""
    from playback.config import get_settings
    from playback.db import get_database
    from playback.errors import DomainError
    from playback.sounds import reports

    settings = get_settings()

    def progress(lines: int) -> None:
        typer.echo(f"… {lines} lines", err=True)

    try:
        month = reports.check_period(period)
        with get_database().unit_of_work(write=False) as db:
            reports.begin_snapshot(db)
            found = reports.access_label(db, label)
            typer.echo(f"Usage of {found.name} ({found.party_id}) in {month}…", err=True)

            def write(stream: TextIO) -> int:
                return reports.write_report(
                    db,
                    found,
                    month,
                    fmt.value,
                    stream,
                    base_url=settings.base_url,
                    progress=progress,
                )

            lines = write(sys.stdout) if out is None else _write_file(out, write)
    except DomainError as exc:
        typer.echo(f"Error ({exc.code}): {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{lines} lines written{f' to {out}' if out else ''}.", err=True)


def _write_file(path: Path, write: Callable[[TextIO], int]) -> int:
    """Write through a temporary file renamed into place: a report that fails half-way leaves
    nothing behind, and never half of a file a label might pick up."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            lines = write(stream)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return lines


@app.command("enforce")
def enforce() -> None:
    """Apply the licences now (the daily job does it at 03:15 UTC): mute every published video
    whose track no licence covers any more, and give the track back where one does again."""
    from rich.progress import track

    from playback.config import get_settings
    from playback.db import get_database
    from playback.media.processing import do_mute_video
    from playback.sounds.service import do_enforce_licences
    from playback.storage import create_storage

    settings = get_settings()
    database = get_database()
    storage = create_storage(settings)
    with database.unit_of_work() as db:
        result = do_enforce_licences(db)
    outcomes: dict[str, int] = {}
    for video_id in track(result.to_mute, description="Muting", transient=True):
        outcome = do_mute_video(database, storage, settings, video_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    typer.echo(f"{outcomes.get('muted', 0)} videos muted, {result.restored} restored.")
