"""``python -m bench``: measure ours against the reference, print the tables, write docs/performance.md."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import (
    building_blocks,
    cold_start,
    cost,
    document,
    e2e,
    enforcement,
    local_timings,
    narrative,
    package,
    paths,
    reload,
    shard,
    warm,
)
from bench.capacity import cli as capacity_cli
from bench.emulator import Emulator
from bench.report import Table
from bench.sides import (
    MEMORY_MB,
    PROCESSOR,
    PUBLISHER,
    child_env,
    ours,
    ours_as_shipped,
    ours_as_shipped_compiled,
    ours_publisher,
    ours_publisher_as_shipped,
    ours_unsampled,
    reference,
    reference_as_shipped,
)

SECTIONS = ("cold", "warm", "e2e", "enforcement", "shard", "reload", "package", "local", "cost")
CONCURRENCY = (1, 4, 16)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="few repeats, small bursts: a smoke run (< 2 min)"
    )
    parser.add_argument(
        "--objects", type=int, default=None, help="objects per end-to-end burst (default 1000)"
    )
    parser.add_argument("--repeats", type=int, default=None, help="cold starts per side (default 9; quick 3)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--output", type=Path, default=paths.PERFORMANCE_DOC, help="Markdown file to write")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    commands = parser.add_subparsers(dest="command", metavar="{enforcement,shard,capacity,reload}")
    alone = commands.add_parser(
        "enforcement",
        help="only section 3b (IAM enforcement on against off), written into the document in place",
        description=enforcement.__doc__,
    )
    alone.add_argument("--objects", type=int, default=enforcement.DEFAULT_OBJECTS, help="objects per burst")
    alone.add_argument("--rounds", type=int, default=enforcement.DEFAULT_ROUNDS, help="bursts per side")
    alone.add_argument(
        "--concurrency", type=int, default=enforcement.CONCURRENCY, help="sandboxes per function"
    )
    alone.add_argument("--output", type=Path, default=paths.PERFORMANCE_DOC, help="document to update")
    alone.add_argument("--no-write", action="store_true", help="print the tables only")
    shard.add_arguments(
        commands.add_parser("shard", help=f"only section {shard.HEADING}", description=shard.__doc__)
    )
    capacity_cli.add_parser(commands)
    hot = commands.add_parser("reload", help=f"only section {reload.HEADING}", description=reload.__doc__)
    hot.add_argument("--edits", type=int, default=reload.DEFAULT_EDITS, help="edits of the step")
    hot.add_argument("--output", type=Path, default=paths.PERFORMANCE_DOC, help="document to update")
    hot.add_argument("--no-write", action="store_true", help="print the table only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "enforcement":
        return enforcement_alone(args)
    if args.command == "shard":
        return shard.alone(args)
    if args.command == "capacity":
        return capacity_cli.run(args)
    if args.command == "reload":
        return reload.alone(args)
    repeats = args.repeats or (3 if args.quick else 9)
    objects = args.objects or (150 if args.quick else 1000)
    wanted = set(args.only.split(","))
    run_started, clock = document.now(), time.perf_counter()
    try:
        paths.reference_handler()
        asset_dir = package.processor_asset_dir()
    except paths.BenchSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sections: list[tuple[str, Table, list[str]]] = []
    summary: list[str] = []
    stale = package.stale_asset_files(asset_dir)
    if stale:
        warning = (
            f"The processor asset in cdk.out is older than src/ ({len(stale)} file(s) differ, e.g. "
            f"{stale[0]}): the *as shipped* and package rows describe that older build; run `make bench` "
            "(which synthesizes first) for a consistent run."
        )
        print(f"warning: {warning}", file=sys.stderr)
        summary.append(warning)
    history = {"cold": "", "calls50": "", "e2e": ""}
    with tempfile.TemporaryDirectory(prefix="s3flow-bench-") as scratch_name:
        scratch = Path(scratch_name)
        cold_results: list[cold_start.ColdResult] = []
        warm_results: list[warm.WarmResult] = []
        # Cold starts reach the emulator over HTTPS, as functions reach AWS; warm runs over HTTP
        # (bench.emulator says why).
        with Emulator(tls=True) as emulator:
            assert emulator.resources is not None
            made = emulator.resources.provisioned_from
            summary.append(
                f"Cold-start and warm runs used a table and bus made {made}"
                + (" (the synthesized stack, rules included)." if made == "from the template"
                   else " (the template could not be provisioned; no rules on the bus).")
            )  # fmt: skip
            if "cold" in wanted:
                shipped_reference = reference_as_shipped(scratch)
                pairs = [
                    (ours(), reference()),
                    (ours_as_shipped(asset_dir, scratch), shipped_reference),
                    (ours_as_shipped_compiled(asset_dir, scratch), shipped_reference),
                ]
                extra = (ours_unsampled(), ours_publisher(), ours_publisher_as_shipped(asset_dir, scratch))
                cold_results = cold_start.measure(pairs, emulator, repeats, scratch, extra)
                t = _show(cold_start.table(cold_results, pairs, repeats), cold_results)
                sections.append(("1. Cold start", t, narrative.cold_text(cold_results, summary, history)))
                env = child_env(reference(), emulator.resources, "127.0.0.1:2000", scratch / "pycache")
                blocks = building_blocks.measure(repeats, env)
                t = _show(building_blocks.table(blocks, repeats), [])
                sections.append(("1b. What a cold start is made of", t, narrative.blocks_text(blocks)))
        with Emulator(tls=False) as emulator:
            if "warm" in wanted or "cost" in wanted:
                # 100 objects per block: the publisher's full batch (``contract.PUBLISHER_BATCH_SIZE``)
                invocations = {1: 100, 5: 20, 50: 2}
                warm_repeats = 2 if args.quick else 5
                warm_results = warm.measure(
                    [ours(), reference()], emulator, warm_repeats, invocations, scratch
                )
                t = _show(warm.table(warm_results, warm_repeats), warm_results)
                sections.append(
                    ("2. Warm cost per object", t, narrative.warm_text(warm_results, summary, history))
                )
        if "e2e" in wanted:
            levels = e2e.measure(
                objects, CONCURRENCY, scratch, idle_samples=5 if args.quick else e2e.IDLE_SAMPLES,
                repeats=1 if args.quick else 2,
            )  # fmt: skip
            t = _show(e2e.table(levels, objects), [])
            sections.append(
                ("3. End to end through the local pipeline", t, narrative.e2e_text(levels, summary, history))
            )
        if "enforcement" in wanted:
            result = enforcement.measure(
                enforcement.DEFAULT_OBJECTS // 4 if args.quick else enforcement.DEFAULT_OBJECTS,
                2 if args.quick else enforcement.DEFAULT_ROUNDS, scratch,
            )  # fmt: skip
            sections.append(_enforcement_section(result, summary, "python -m bench"))
        if "shard" in wanted:
            measured = shard.measure(500, 1.0) if args.quick else shard.measure()
            sections.append(shard.section(measured, summary, "python -m bench"))
        if "reload" in wanted:
            edits = reload.measure(3 if args.quick else reload.DEFAULT_EDITS, scratch / "reload")
            sections.append(reload.section(edits, summary, "python -m bench"))
        if "package" in wanted:
            t = _show(package.table(package.packages(), package.synth_times(1 if args.quick else 3)), [])
            sections.append(("4. Deployment package and synth", t, narrative.PACKAGE_TEXT))
        if "local" in wanted:
            timings = local_timings.measure(repeats=3 if args.quick else 5, make_runs=1 if args.quick else 2)
            summary.append(local_timings.summary(timings))
            sections.append((LOCAL_HEADING, _show(local_timings.table(timings), []), [local_timings.TEXT]))
        if "cost" in wanted and warm_results and all(not r.failure for r in warm_results):
            bills = _bills(warm_results, cold_results)
            t = _show(cost.table(bills), [])
            sections.append(("5. Cost per million objects", t, narrative.cost_text(bills, summary)))
    seconds = time.perf_counter() - clock
    print(f"\nbenchmarks took {seconds:.0f} s")
    partial = wanted != set(SECTIONS)
    if partial and args.output == paths.PERFORMANCE_DOC and not args.no_write:
        print(f"partial run (--only): {args.output} left as it is; --output writes these tables elsewhere")
    elif not args.no_write:
        run = document.RunInfo(
            "python -m bench" + (" --quick" if args.quick else "")
            + (f" --objects {args.objects}" if args.objects else ""),
            args.quick, repeats, objects, run_started, seconds,
        )  # fmt: skip
        row = document.history_row(run, history["cold"], history["calls50"], history["e2e"])
        document.write(args.output, run, summary, sections, row)
        print(f"wrote {args.output}")
        # docs/capacity.md from the same run: the model with the work per object just measured.
        capacity_cli.after_full_run(warm_results, run.command, write_doc=args.output == paths.PERFORMANCE_DOC)
    return 0


LOCAL_HEADING = "4b. What a user waits for locally"
ENFORCEMENT_HEADING = "3b. What IAM enforcement costs the local pipeline"


def enforcement_alone(args: argparse.Namespace) -> int:
    """``python -m bench enforcement``: measures section 3b alone and puts it into the document."""
    try:
        paths.processor_template()
    except paths.BenchSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = f"python -m bench enforcement --objects {args.objects} --rounds {args.rounds}" + (
        f" --concurrency {args.concurrency}" if args.concurrency != enforcement.CONCURRENCY else ""
    )

    def measured() -> enforcement.Result:
        with tempfile.TemporaryDirectory(prefix="s3flow-bench-") as scratch:
            return enforcement.measure(args.objects, args.rounds, Path(scratch), args.concurrency)

    output = None if args.no_write else args.output
    document.measure_alone(command, measured, _enforcement_section, output=output, after="3.")
    return 0


def _enforcement_section(
    result: enforcement.Result, summary: list[str], command: str, when: str = ""
) -> tuple[str, Table, list[str]]:
    t = _show(enforcement.table(result), [])
    micro = enforcement.micro_table(result)
    print()
    print(micro.text())
    return ENFORCEMENT_HEADING, t, enforcement.text(result, summary, command, when)


def _show(table: Table, results: list) -> Table:  # type: ignore[type-arg]
    print()
    print(table.text())
    for note in table.notes:
        print(f"  {note}")
    for result in results:
        if getattr(result, "failure", None):
            print(f"  !! {result.side.label}: {result.failure.splitlines()[0]}", file=sys.stderr)
            print("     " + "\n     ".join(result.failure.splitlines()[-8:]), file=sys.stderr)
    return table


def _bills(warm_results: list[warm.WarmResult], cold_results: list[cold_start.ColdResult]) -> list[cost.Bill]:
    """Ours with publisher batches of one record and of a full batch, then the reference."""
    # (name, role, True): the code as Lambda gets it; (name, role, False): everything cached.
    sampled = [r for r in cold_results if r.runs and r.side.sampled]
    cold = {(r.side.name, r.side.role, False): r for r in sampled if not r.side.as_shipped}
    cold |= {(r.side.name, r.side.role, True): r for r in sampled if r.side.shipped_form}

    def cold_ms(name: str, role: str = PROCESSOR) -> float:
        result = cold.get((name, role, True)) or cold.get((name, role, False))
        return result.median("cold_cpu_ms") if result else 0.0

    by = {r.side.name: r for r in warm_results}
    ours_results, reference_results = by["ours"], by["reference"]
    processor = cost.Function("processor", ours_results.sizes[1], 1.0, cold_ms("ours"))
    designs = []
    for shape in warm.SHAPES:
        publisher = ours_results.publisher[shape][1]
        batch = publisher.records_per_batch()
        designs.append(
            cost.Design(
                f"ours, publisher batches of {batch:.0f}",
                "arm64",
                MEMORY_MB,
                (processor, cost.Function("publisher", publisher, 1 / batch, cold_ms("ours", PUBLISHER))),
            )  # fmt: skip
        )
    reference_function = cost.Function("reference", reference_results.sizes[1], 1.0, cold_ms("reference"))
    designs.append(cost.Design("reference", "x86_64", MEMORY_MB, (reference_function,), lambda_insights=True))
    return [cost.bill(d) for d in designs]


if __name__ == "__main__":
    raise SystemExit(main())
