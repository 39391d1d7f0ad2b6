"""Benchmark looking up viewers' numbers in a big audience: the rollup's step that turns a batch's
viewers into the bits of a creator's daily viewer sets.

A creator with ``--members`` (1,000,000) numbered viewers in ``audience_members`` (another with a
tenth of them beside it), seeded with COPY or executemany and then analysed as autovacuum would.
Each round asks for ``--keys`` (5,000) viewer keys, half of them members and half never seen, as
a rollup batch of a popular creator does. Interleaved, alternating which goes first:

- the app's ``analytics.rollups.numbers_of`` (on PostgreSQL the keys are joined as an array's rows,
  one primary-key probe each), and
- the reference: the same look-up as a plain ``viewer_key IN (…)`` list, which PostgreSQL plans
  as a scan of the creator's whole audience.

Both must return the same numbers. The figure is p50 of ``numbers_of`` ÷ p50 of the IN list
(goal on PostgreSQL ≤ 0.5; on SQLite the two are the same query, so about 1).

    python benchmarks/viewer_numbers.py                 # both databases (about 2 minutes)
    python benchmarks/viewer_numbers.py --db postgres --members 100000
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from typing import Any

import sqlalchemy as sa
from _world import (
    Latencies,
    Target,
    analyze,
    bulk_insert,
    console,
    new_progress,
    open_database,
    run_per_database,
    verdict,
)

from playback.analytics.models import AudienceMember
from playback.analytics.rollups import numbers_of

GOAL = 0.5  # PostgreSQL: numbers_of at most half the IN list's time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL URL (default: the local one)")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=5000, help="keys asked for per round")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    results = run_per_database(args.db, args.pg_url, lambda tgt: _bench(tgt, args))
    return 0 if all(ok for ok in results) else 1


def _key(rng: random.Random) -> str:
    return f"user:{uuid.UUID(int=rng.getrandbits(128))}"


def _bench(tgt: Target, args: argparse.Namespace) -> bool:
    database = open_database(tgt)
    rng = random.Random(7)
    scope, other = uuid.UUID(int=1), uuid.UUID(int=2)
    members = [_key(rng) for _ in range(args.members)]
    started = time.perf_counter()
    with new_progress() as progress:
        task = progress.add_task("seeding audiences", total=args.members + args.members // 10)

        def rows(scope_id: uuid.UUID, keys: list[str]) -> Any:
            return ({"scope_id": scope_id, "viewer_key": k, "idx": i} for i, k in enumerate(keys))

        with database.engine.begin() as conn:
            table = AudienceMember.__table__
            bulk_insert(
                conn, table, rows(scope, members), on_chunk=lambda n: progress.advance(task, n)
            )  # type: ignore[arg-type]
            bulk_insert(
                conn,
                table,  # type: ignore[arg-type]
                rows(other, members[: args.members // 10]),
                on_chunk=lambda n: progress.advance(task, n),
            )
    analyze(database, ["audience_members"])
    console.print(f"seeded {args.members:,} members in {time.perf_counter() - started:.0f} s")

    def plain_in(db: Any, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for part in range(0, len(keys), 5000):
            rows = db.execute(
                sa.select(AudienceMember.viewer_key, AudienceMember.idx).where(
                    AudienceMember.scope_id == scope,
                    AudienceMember.viewer_key.in_(sorted(keys)[part : part + 5000]),
                )
            )
            found.update((key, idx) for key, idx in rows)
        return found

    app, reference = Latencies(), Latencies()
    wrong = 0
    with new_progress() as progress:
        task = progress.add_task("looking up", total=args.rounds + 3)
        for n in range(args.rounds + 3):  # the first three warm up
            half = args.keys // 2
            keys = rng.sample(members, half) + [_key(rng) for _ in range(args.keys - half)]
            answers = []
            order = [(numbers_of, app), (None, reference)]
            for fn, into in order if n % 2 else reversed(order):
                with database.unit_of_work(write=False) as db:
                    began = time.perf_counter()
                    got = fn(db, scope, keys) if fn is not None else plain_in(db, keys)
                    if n >= 3:
                        into.add(time.perf_counter() - began)
                answers.append(got)
            wrong += answers[0] != answers[1] or len(answers[0]) != half
            progress.advance(task)
    database.dispose()
    ratio = app.p50 / reference.p50
    console.print(f"numbers_of   {app.line()}")
    console.print(f"IN list      {reference.line()}")
    if tgt.kind == "postgres":
        console.print(
            f"numbers_of ÷ IN list (p50): {ratio:.2f}  goal ≤ {GOAL}  {verdict(ratio <= GOAL)}"
        )
    else:
        console.print(f"numbers_of ÷ IN list (p50): {ratio:.2f}  (the same query on SQLite)")
    if wrong:
        console.print(f"[red]{wrong} rounds answered differently[/]")
    return wrong == 0


if __name__ == "__main__":
    raise SystemExit(main())
