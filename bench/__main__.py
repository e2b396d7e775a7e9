"""``python -m bench``: measure ours against the reference, print the tables, write docs/performance.md."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import cold_start, package, paths, warm
from bench.emulator import Emulator
from bench.report import Table
from bench.sides import ours, ours_as_shipped, reference, reference_as_shipped


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repeats and objects: a smoke run (< 2 min)")
    parser.add_argument("--objects", type=int, default=None, help="objects per end-to-end run (default 1000)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="repeats per measurement (default 7; quick 3)"
    )
    parser.add_argument(
        "--only", default="cold,warm,e2e,package,cost", help="comma-separated sections to run"
    )
    parser.add_argument("--output", type=Path, default=paths.PERFORMANCE_DOC, help="Markdown file to write")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    repeats = args.repeats or (3 if args.quick else 7)
    sections = set(args.only.split(","))
    tables: list[Table] = []
    started = time.perf_counter()
    try:
        paths.reference_handler()
    except paths.BenchSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="s3flow-bench-") as scratch_name, Emulator() as emulator:
        scratch = Path(scratch_name)
        if "cold" in sections:
            pairs = [(ours(), reference())]
            try:
                pairs.append(
                    (ours_as_shipped(package.processor_asset_dir(), scratch), reference_as_shipped(scratch))
                )
            except paths.BenchSetupError as error:
                print(f"skipping as-shipped cold starts: {error}", file=sys.stderr)
            results = cold_start.measure(pairs, emulator, repeats, scratch)
            tables.append(_show(cold_start.table(results, pairs, repeats), results))
        if "warm" in sections:
            invocations = {1: 6, 5: 2, 50: 1} if args.quick else {1: 20, 5: 8, 50: 2}
            results_w = warm.measure(
                [ours(), reference()], emulator, max(2, repeats - 2), invocations, scratch
            )
            tables.append(_show(warm.table(results_w, max(2, repeats - 2)), results_w))
        if "package" in sections:
            tables.append(
                _show(package.table(package.packages(), package.synth_times(1 if args.quick else 3)), [])
            )
    print(f"\nbenchmarks took {time.perf_counter() - started:.0f} s")
    return 0


def _show(table: Table, results: list) -> Table:
    print()
    print(table.text())
    for note in table.notes:
        print(f"  {note}")
    for result in results:
        if getattr(result, "failure", None):
            print(f"  !! {result.side.label}: {result.failure.splitlines()[0]}", file=sys.stderr)
            print("     " + "\n     ".join(result.failure.splitlines()[-8:]), file=sys.stderr)
    return table


if __name__ == "__main__":
    raise SystemExit(main())
