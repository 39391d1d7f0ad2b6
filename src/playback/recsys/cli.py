"""``playback recsys``: train the For You model, rank with it and evaluate it offline, with the
same code that serves the feed. Heavy imports wait inside the commands, so ``playback --help``
stays fast."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from playback.kit.progress import step_bars

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from rich.console import Console

    from playback.recsys.data import Interactions
    from playback.recsys.models import Params

app = typer.Typer(
    help="The For You recommender offline: train a model, rank items, evaluate.",
    no_args_is_help=True,
    add_completion=False,
)

InteractionsOption = Annotated[
    Path,
    typer.Option(
        "--interactions",
        help="CSV with `user,item`, optionally one of `watch_ratio`/`weight`/`rating`, and "
        "`timestamp`; one row per (user, item).",
        show_default=False,
    ),
]
FeaturesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--item-features",
        help="NAME=FILE.npy, repeatable: one row per item, row i = item id i (ids must then be "
        "integers 0..n-1; rows past the largest id are items nobody has touched yet).",
        show_default=False,
    ),
]
LamOption = Annotated[
    float | None, typer.Option("--lam", min=0.0, help="EASE's L2 penalty (default 45).")
]
FeatureWeightOption = Annotated[
    float | None,
    typer.Option("--feature-weight", min=0.0, help="Weight of content similarity (default 300)."),
]
PopularityOption = Annotated[
    float | None,
    typer.Option("--popularity-weight", min=0.0, help="Weight of the popularity prior (0.01)."),
]


def _params(lam: float | None, feature_weight: float | None, popularity: float | None) -> Params:
    from playback.recsys.models import Params

    given = {"lam": lam, "feature_weight": feature_weight, "popularity_weight": popularity}
    return Params(**{name: value for name, value in given.items() if value is not None})


@contextlib.contextmanager
def _refusals(console: Console) -> Iterator[None]:
    """Bad input ends the command with its message and exit code 1, never a traceback."""
    from rich.markup import escape

    from playback.recsys.data import InputError

    try:
        yield
    except InputError as exc:
        console.print(f"[bold red]error:[/] {escape(exc.message)}")
        raise typer.Exit(1) from None


def _load(
    console: Console,
    interactions: Path,
    feature_options: list[str] | None,
    extra_items: set[str] | None = None,
) -> tuple[Interactions, dict[str, np.ndarray]]:
    import numpy as np

    from playback.recsys.data import (
        catalogue_of,
        parse_feature_options,
        read_features,
        read_interactions,
    )

    files = parse_feature_options(feature_options or [])
    with console.status(f"Reading {interactions}…"):
        features = read_features(files)
        data = read_interactions(
            interactions,
            catalogue=catalogue_of(features, files) if features else None,
            extra_items=() if features else (extra_items or ()),
        )
    signal = data.signal or "implicit (no signal column)"
    untouched = len(data.items) - len(np.unique(data.item_idx))
    console.print(
        f"{len(data):,} interactions, {len(data.users):,} users, {len(data.items):,} items "
        f"({untouched:,} without interactions); signal: {signal}; features: "
        f"{', '.join(features) or 'none'}."
    )
    return data, features


@contextlib.contextmanager
def _atomic_csv(path: Path) -> Iterator[Any]:
    """A csv writer into a temporary file that replaces `path` only once all is written, so a
    failed run leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            yield csv.writer(stream, lineterminator="\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _padded(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The matrix with one more, empty, row at the end: the history of someone new."""
    import numpy as np
    import scipy.sparse as sp

    indptr = np.append(matrix.indptr, matrix.indptr[-1])
    return sp.csr_matrix(
        (matrix.data, matrix.indices, indptr), shape=(matrix.shape[0] + 1, matrix.shape[1])
    )


@app.command()
def rank(
    interactions: InteractionsOption,
    k: Annotated[
        int,
        typer.Option(
            "--k",
            min=1,
            help="Items per user (per user's candidates with --candidates).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="Where to write `user,item,rank,score`.", show_default=False),
    ],
    item_features: FeaturesOption = None,
    users: Annotated[
        Path | None,
        typer.Option(
            "--users",
            help="CSV with the header `user`: rank for these people only (default: everyone in "
            "the interactions, or in --candidates). Someone without interactions is ranked by "
            "the prior alone.",
            show_default=False,
        ),
    ] = None,
    candidates: Annotated[
        Path | None,
        typer.Option(
            "--candidates",
            help="CSV `user,item`: rank each user's candidates (seen or not) instead of every "
            "unseen item.",
            show_default=False,
        ),
    ] = None,
    lam: LamOption = None,
    feature_weight: FeatureWeightOption = None,
    popularity_weight: PopularityOption = None,
) -> None:
    """Train on the interactions and write each user's top K: the items they have not
    interacted with, best first, or their --candidates in ranked order."""
    import numpy as np
    from rich.console import Console

    from playback.recsys.data import read_candidates, read_user_list
    from playback.recsys.models import fit, rank_many

    console = Console(stderr=True)
    with _refusals(console):
        wanted = read_user_list(users) if users else None
        cands = read_candidates(candidates) if candidates else None
        data, features = _load(
            console, interactions, item_features, cands.all_items() if cands else set()
        )
        with step_bars(console) as progress:
            model = fit(data, features, _params(lam, feature_weight, popularity_weight), progress)
        pools: dict[str, np.ndarray] = {}
        if cands is not None:
            pools = cands.indexes(data.items)
            unseen = len(set(np.concatenate(list(pools.values()))) - set(data.item_idx.tolist()))
            if unseen:
                console.print(
                    f"{unseen:,} candidate items have no interactions: their scores come from "
                    "their features or the prior alone."
                )
            people = wanted if wanted is not None else cands.users
            lacking = sum(1 for person in people if person not in pools)
            if lacking:
                console.print(f"{lacking:,} of the users have no candidates: no rows for them.")
            people = [person for person in people if person in pools]
        else:
            people = wanted if wanted is not None else data.users.ids.tolist()
        new = sum(1 for person in people if person not in data.users)
        if new:
            console.print(f"{new:,} users have no interactions: ranked by the prior alone.")
        history, seen = _padded(data.matrix()), _padded(data.seen())
        nobody = len(data.users)
        found = [data.users.get(person) for person in people]
        rows = np.array([nobody if i is None else i for i in found], dtype=np.int64)
        rankings = rank_many(
            model,
            history[rows],
            seen=seen[rows],
            k=k,
            candidates=[pools[person] for person in people] if cands is not None else None,
        )
        with step_bars(console) as progress, _atomic_csv(out) as writer:
            writer.writerow(["user", "item", "rank", "score"])
            for done, (person, (items, scores)) in enumerate(zip(people, rankings, strict=True)):
                for place, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
                    writer.writerow([person, data.items.ids[item], place, f"{score:.6g}"])
                if done % 1024 == 0 or done == len(people) - 1:
                    progress("ranking", done + 1, len(people))
    console.print(f"Wrote the top {k} for {len(people):,} users to {out}.")


@app.command()
def train(
    interactions: Annotated[
        Path | None,
        typer.Option(
            "--interactions",
            help="A CSV to train on (see `rank`). Without it: the platform's own events, and the "
            "model For You serves.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The model file (.npz) to write (with --interactions; the platform's model "
            "goes to <data dir>/recsys/model.npz).",
            show_default=False,
        ),
    ] = None,
    item_features: FeaturesOption = None,
    lam: LamOption = None,
    feature_weight: FeatureWeightOption = None,
    popularity_weight: PopularityOption = None,
    max_items: Annotated[
        int,
        typer.Option("--max-items", min=2, help="Platform training: the most watched videos kept."),
    ] = 5_000,
) -> None:
    """Train and save a model: from a CSV of interactions, or (without --interactions) from the
    platform's watch events, likes, saves, comments, shares and "not interested" — what For You
    serves (also done every night by the `train_recommender` job)."""
    import time

    from rich.console import Console

    from playback.recsys.models import fit

    console = Console(stderr=True)
    if interactions is None:
        _train_platform(console, max_items)
        return
    if out is None:
        console.print("Say where to write the model: --out FILE.npz")
        raise typer.Exit(2)
    with _refusals(console):
        data, features = _load(console, interactions, item_features)
        started = time.perf_counter()
        with step_bars(console) as progress:
            model = fit(data, features, _params(lam, feature_weight, popularity_weight), progress)
        seconds = time.perf_counter() - started
        out.parent.mkdir(parents=True, exist_ok=True)
        model.save(out)
    console.print(
        f"Trained a {model.kind} model over {model.n_items:,} items in {seconds:.1f} s; "
        f"saved to {out} ({out.stat().st_size / 2**20:.0f} MiB)."
    )


def _train_platform(console: Console, max_items: int) -> None:
    from playback.config import get_settings
    from playback.db import get_database
    from playback.recsys.platform import do_train

    with step_bars(console) as progress:
        result = do_train(get_database(), get_settings(), max_items=max_items, progress=progress)
    if not result.trained:
        console.print(
            f"Not enough to learn from yet ({result.items} videos watched by {result.viewers} "
            "viewers); For You keeps ranking without a model."
        )
        return
    console.print(
        f"Trained on {result.events:,} watch events of {result.viewers:,} viewers over "
        f"{result.items:,} videos in {result.seconds:.1f} s; saved to {result.path}."
    )


@app.command()
def evaluate(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="A folder with interactions.csv (and item features as *.npy, named by file "
            "stem): with a `split` column, train on `train` and evaluate on --split; otherwise "
            "hold out --holdout of each user's rows.",
            show_default=False,
        ),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="The split to evaluate on.")] = "valid",
    k: Annotated[
        int | None,
        typer.Option(
            "--k",
            min=1,
            help="Cut-off: default 20 (Recall/NDCG over all items), 10 for watch ratios.",
            show_default=False,
        ),
    ] = None,
    holdout: Annotated[
        float,
        typer.Option("--holdout", min=0.01, max=0.99, help="Share of each user's rows held out."),
    ] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the holdout draw.")] = 0,
    no_features: Annotated[
        bool, typer.Option("--no-features", help="Ignore the folder's .npy features.")
    ] = False,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions", help="A `rank` output to score against --truth.", show_default=False
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth",
            help="CSV `user,item` (with `watch_ratio`: graded NDCG over each user's rows).",
            show_default=False,
        ),
    ] = None,
    lam: LamOption = None,
    feature_weight: FeatureWeightOption = None,
    popularity_weight: PopularityOption = None,
) -> None:
    """Measure the model with the published protocols: Recall@K and NDCG@K against
    most-popular, or, for watch ratios, NDCG@K against the per-video mean watch ratio."""
    from rich.console import Console

    console = Console(stderr=True)
    out = Console()
    with _refusals(console):
        if predictions is not None or truth is not None:
            if predictions is None or truth is None or data is not None:
                raise typer.BadParameter("give --predictions and --truth together, without --data")
            _evaluate_files(out, predictions, truth, k or 20)
            return
        if data is None:
            raise typer.BadParameter("give --data DIR, or --predictions and --truth")
        _evaluate_folder(
            console,
            out,
            data,
            split=split,
            k=k,
            holdout=holdout,
            seed=seed,
            use_features=not no_features,
            params=_params(lam, feature_weight, popularity_weight),
        )


def _evaluate_files(out: Console, predictions: Path, truth: Path, k: int) -> None:
    from playback.recsys.evaluation import evaluate_files

    report = evaluate_files(predictions, truth, k=k)
    if report.recall is not None:
        out.print(f"Recall@{k}  {report.recall:.4f}")
    out.print(f"NDCG@{k}    {report.ndcg:.4f}")
    out.print(
        f"users      {report.users:,} ({report.users_without_predictions:,} without predictions)"
    )


def _evaluate_folder(
    console: Console,
    out: Console,
    folder: Path,
    *,
    split: str,
    k: int | None,
    holdout: float,
    seed: int,
    use_features: bool,
    params: Params,
) -> None:
    from rich.table import Table

    from playback.recsys.data import SPLITS, InputError
    from playback.recsys.evaluation import evaluate_ranking, evaluate_watch_ratio, holdout_mask

    if not (folder / "interactions.csv").is_file():
        raise InputError(f"{folder}: no interactions.csv in this folder.")
    feature_files = sorted(folder.glob("*.npy")) if use_features else []
    options = [f"{path.stem}={path}" for path in feature_files]
    data, features = _load(console, folder / "interactions.csv", options)
    if data.split is not None:
        if split not in SPLITS:
            raise InputError(f"--split {split!r}: expected one of {', '.join(SPLITS)}.")
        held = data.split_mask(split)
        if not held.any():
            raise InputError(f"{data.path}: no rows with split {split!r} (is it held back?).")
        trained = data.split_mask("train")
        protocol = f"train → {split}"
    else:
        held = holdout_mask(data, holdout, seed)
        trained = ~held
        protocol = f"{holdout:.0%} per-user holdout, seed {seed}"
    train_rows, held_rows = data.select(trained), data.select(held)
    table = Table("metric", "model", "baseline", title=protocol)
    with step_bars(console) as progress:
        if data.signal == "watch_ratio":
            cut = k or 10
            ratio = evaluate_watch_ratio(
                train_rows, held_rows, features, k=cut, params=params, progress=progress
            )
            table.add_row(f"NDCG@{cut}", f"{ratio.ndcg:.4f}", f"{ratio.video_mean_ndcg:.4f}")
            users, seconds, baseline = ratio.users, ratio.train_seconds, "per-video mean"
        else:
            cut = k or 20
            report = evaluate_ranking(
                train_rows, held_rows, features, k=cut, params=params, progress=progress
            )
            table.add_row(f"Recall@{cut}", f"{report.recall:.4f}", f"{report.popular_recall:.4f}")
            table.add_row(f"NDCG@{cut}", f"{report.ndcg:.4f}", f"{report.popular_ndcg:.4f}")
            users, seconds, baseline = report.users, report.train_seconds, "most popular"
    out.print(table)
    out.print(
        f"baseline: {baseline}; {users:,} users evaluated; {len(train_rows):,} training rows, "
        f"{len(held_rows):,} evaluation rows; training took {seconds:.1f} s."
    )
