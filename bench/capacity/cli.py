"""``python -m bench capacity``: the capacity model alone; and its part of the full run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import document as bench_document
from bench import paths
from bench.capacity import CAPACITY_DOC, CAPACITY_PNG, DEFAULT_RATE, document, simulation
from bench.capacity.model import Pipeline
from bench.capacity.stack import StackSettings
from bench.capacity.work import MEASURED, Work


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "capacity",
        help="the capacity model: which AWS limit binds first at a rate, what raises it, what it costs; "
        "writes docs/capacity.md and docs/capacity-burst.png",
        description=sys.modules["bench.capacity"].__doc__,
    )
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="objects per second (default 100)")
    parser.add_argument(
        "--put-concurrency",
        type=int,
        choices=range(1, 11),
        metavar="1-10",
        default=None,
        help="PutEvents requests of a batch the publisher keeps in flight (default: the stack's)",
    )
    parser.add_argument(
        "--shard-rate",
        type=float,
        default=None,
        help="objects/s one shard's publisher publishes, batch after batch, as measured "
        "(python -m bench shard); default: modelled from the work per record",
    )
    parser.add_argument("--template", type=Path, default=None, help="synthesized template (default: cdk.out)")
    parser.add_argument("--output", type=Path, default=CAPACITY_DOC, help="document to write")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")


def run(args: argparse.Namespace) -> int:
    try:
        stack = StackSettings.synthesized(args.template)
    except paths.BenchSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = f"python -m bench capacity --rate {args.rate:g}"
    command += f" --put-concurrency {args.put_concurrency}" if args.put_concurrency else ""
    command += f" --shard-rate {args.shard_rate:g}" if args.shard_rate is not None else ""
    pipeline = Pipeline(stack, MEASURED, args.put_concurrency, args.shard_rate)
    return write(pipeline, args.rate, command, output=args.output, write_doc=not args.no_write,
                 template=args.template)  # fmt: skip


def write(
    pipeline: Pipeline,
    rate: float,
    command: str,
    *,
    output: Path = CAPACITY_DOC,
    write_doc: bool = True,
    template: Path | None = None,
) -> int:
    if rate <= 0 or (pipeline.measured_shard_rate is not None and pipeline.measured_shard_rate <= 0):
        print("error: --rate and --shard-rate must be above 0 objects/s", file=sys.stderr)
        return 2
    print(document.limits_text(pipeline, rate))
    if write_doc:
        run = simulation.simulate(pipeline, rate)
        shown = template or paths.processor_template()
        where = shown.relative_to(paths.PROJECT_ROOT) if shown.is_relative_to(paths.PROJECT_ROOT) else shown
        context = document.Context(command, bench_document.now(), bench_document.commit(), str(where))
        png = CAPACITY_PNG if output == CAPACITY_DOC else output.with_suffix(".png")
        document.write(output, png, pipeline, rate, run, context)
        print(f"wrote {output} and {png}")
    return 0


def after_full_run(warm_results: list, command: str, write_doc: bool) -> None:  # type: ignore[type-arg]
    """The full run's part: the model with the work per object measured in this run."""
    from bench.warm import FULL, PER_EVENT

    by = {r.side.name: r for r in warm_results if not r.failure}
    work = MEASURED
    if "ours" in by and by["ours"].publisher:
        ours = by["ours"]
        work = Work.from_warm(
            ours.sizes[1],
            ours.publisher[PER_EVENT][1],
            ours.publisher[FULL][1],
            f"measured in this run ({command})",
        )
    try:
        stack = StackSettings.synthesized()
    except paths.BenchSetupError as error:
        print(f"capacity model skipped: {error}", file=sys.stderr)
        return
    print()
    write(Pipeline(stack, work), DEFAULT_RATE, command, write_doc=write_doc)
