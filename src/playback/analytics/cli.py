"""``playback insights``: the growth forecast from a monthly series of active users. Heavy
imports (numpy, scipy) wait inside the command, so ``playback --help`` stays fast."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from playback.analytics.forecast import Forecast, MonthInterval, ThresholdResult

app = typer.Typer(
    help="Insights about the platform as a whole: where growth levels off, and when.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def insights() -> None:
    """Insights about the platform as a whole: where growth levels off, and when."""


@contextlib.contextmanager
def _refusals(console: Console) -> Iterator[None]:
    """Bad input ends the command with its code and message on stderr and exit code 2, never a
    traceback."""
    from rich.markup import escape

    from playback.errors import Invalid

    try:
        yield
    except Invalid as exc:
        console.print(f"[bold red]error ({exc.code}):[/] {escape(exc.message)}")
        raise typer.Exit(2) from None


def _users(value: float | None) -> str:
    if value is None:
        return "unbounded"
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


def _month(month: dt.date | None, missing: str) -> str:
    return missing if month is None else f"{month.year:04d}-{month.month:02d}"


def _month_range(interval: MonthInterval) -> str:
    earliest = _month(interval.earliest, "not reached")
    if interval.earliest is None:
        return earliest
    return f"{earliest} – {_month(interval.latest, 'not reached')}"


_STATUS = {
    "observed": "in the series",
    "projected": "projected",
    "above_ceiling": "≥ the ceiling",
    "beyond_limit": "> 100 years out",
}


def _threshold_row(result: ThresholdResult) -> list[str]:
    return [
        _users(result.threshold),
        _month(result.month, "not reached"),
        _STATUS.get(result.status, result.status),
        *(_month_range(interval) for interval in result.intervals),
        f"{result.share_reached:.0%}",
    ]


def _print(console: Console, result: Forecast) -> None:
    from rich.table import Table

    from playback.analytics.growth_models import MODELS

    models = Table("model", "holdout error (nRMSE)", "parameters", "note", title="Models")
    for model in result.models:
        error = "—" if model.holdout_error is None else f"{model.holdout_error:.2%}"
        params = ", ".join(
            f"{name}={_users(value) if i == 0 else f'{value:.4g}'}"
            for i, (name, value) in enumerate((model.params or {}).items())
        )
        chosen = " (chosen)" if model.name == result.model else ""
        models.add_row(f"{model.name}{chosen}", error, params or "—", model.note or "")
    console.print(models)
    console.print(f"Chosen: {result.model}, {MODELS[result.model].formula}")
    ranges = "; ".join(
        f"{interval.level:.0%}: {_users(interval.low)} – {_users(interval.high)}"
        for interval in result.ceiling.intervals
    )
    console.print(f"Ceiling: {_users(result.ceiling.value)} ({ranges})")
    if result.thresholds:
        levels = [f"{level:.0%} interval" for level in result.levels]
        table = Table("threshold", "month", "", *levels, "reached in", title="Thresholds")
        for threshold in result.thresholds:
            table.add_row(*_threshold_row(threshold))
        console.print(table)
    console.print(
        f"{result.replicates_used} of {result.replicates} bootstrap replicates fitted; "
        f"{result.holdout_months} months held out to choose the model."
    )


@app.command("forecast")
def forecast_command(
    series: Annotated[
        Path,
        typer.Option(
            "--series",
            help="CSV with a header `month,VALUE` (or `date,VALUE`): one row per month "
            "(YYYY-MM or YYYY-MM-DD), oldest first, none missing.",
            show_default=False,
        ),
    ],
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            help='A number of users to date, e.g. 600M, 1.5B, "1 billion", 2e9; repeatable.',
            show_default=False,
        ),
    ] = None,
    months_ahead: Annotated[
        int, typer.Option("--months-ahead", min=1, max=600, help="Months to project.")
    ] = 60,
    replicates: Annotated[
        int, typer.Option("--replicates", min=10, max=10_000, help="Bootstrap replicates.")
    ] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the forecast as JSON only.")] = (
        False
    ),
) -> None:
    """Forecast where monthly active users level off and when they pass each threshold.

    Logistic, Gompertz and Bass curves are fitted; the one that best predicts the series' last
    months (held out) is kept, and a residual bootstrap gives the intervals."""
    from rich.console import Console

    from playback.analytics.forecast import forecast
    from playback.analytics.series import parse_threshold, read_series_csv
    from playback.kit.progress import progress_bar

    errors = Console(stderr=True)
    with _refusals(errors):
        levels = [parse_threshold(text) for text in threshold or []]
        data = read_series_csv(series)
        with progress_bar(errors, transient=True) as bar:
            task = bar.add_task("bootstrapping", total=replicates)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = forecast(
                data, levels, months_ahead=months_ahead, replicates=replicates, progress=advance
            )
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, allow_nan=False))
        return
    _print(Console(), result)


@app.command("rollup")
def rollup_command() -> None:
    """Add every watch event not rolled up yet to the studio's and insights' hourly and daily
    sums now, with progress (the worker does this every minute on its own)."""
    from rich.console import Console

    from playback.analytics import rollups
    from playback.cli import _migrated_database
    from playback.kit.progress import progress_bar

    database = _migrated_database()
    with database.unit_of_work() as db:
        pending = rollups.pending_events(db)
    with progress_bar(Console(stderr=True)) as bar:
        task = bar.add_task("rolling up watch events", total=pending)
        done = rollups.roll_all(database, progress=lambda n: bar.advance(task, n))
    typer.echo(f"rolled up {done:,} watch events")
