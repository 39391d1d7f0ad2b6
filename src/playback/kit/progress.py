"""Progress bars for long commands (imports, training, benchmarks), drawn one way everywhere."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

StepProgress = Callable[[str, int, int], None]  # (step, done, total)


def progress_bar(console: Console, **options: Any) -> Progress:
    """A rich progress display: spinner, description, bar, done/total, time elapsed."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        **options,
    )


@contextlib.contextmanager
def step_bars(console: Console) -> Iterator[StepProgress]:
    """A progress callback ``(step, done, total)`` drawing one bar per step."""
    with progress_bar(console) as bar:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield report
