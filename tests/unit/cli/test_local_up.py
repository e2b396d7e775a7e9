"""``s3flow local up``'s report of the work a stop cuts short, without a pipeline."""

from __future__ import annotations

import json
from pathlib import Path


def test_a_stop_with_work_in_flight_says_what_is_lost_in_one_line_then_a_bounded_list():
    from s3flow.cli.local_up import unfinished_report
    from s3flow.local.pipeline import Unfinished

    uploads = tuple(("bkt", f"in/{n}.txt", f"v{n}") for n in range(12))
    left = Unfinished(objects=uploads, unpublished=(("bkt", "done.txt", None),))

    lines = unfinished_report(left, limit=10)

    assert lines[0] == (
        "13 objects were in flight and are lost with it: "
        "12 uploads not yet processed, 1 record not yet published"
    )
    assert lines[1:4] == [
        "  not processed  bkt/in/0.txt (v0)",
        "  not processed  bkt/in/1.txt (v1)",
        "  not processed  bkt/in/2.txt (v2)",
    ]
    assert len(lines) == 12 and lines[11] == "  … and 3 more"
    assert unfinished_report(Unfinished()) == []


def test_an_object_both_unprocessed_and_unpublished_counts_once():
    from s3flow.cli.local_up import unfinished_report
    from s3flow.local.pipeline import Unfinished

    cut_short = ("bkt", "a b.txt", "v1")  # its record written, its invocation not finished

    lines = unfinished_report(Unfinished(objects=(cut_short,), unpublished=(cut_short,)))

    assert lines == [
        "1 object was in flight and is lost with it: 1 upload not yet processed, 1 record not yet published",
        "  not processed  bkt/a b.txt (v1)",
        "  not published  bkt/a b.txt (v1)",
    ]


def test_a_functions_own_words_are_printed_as_written_not_read_as_markup() -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from s3flow.cli.local_up import flow_printer

    console = Console(record=True, width=200)
    detail = "fn ERROR: [ERROR] Runtime.ImportModuleError: [bold]x[/bold]"
    detail += "\n    Traceback (most recent call last):"
    flow_printer(console)(SimpleNamespace(kind="logged", key="in/a.csv", version_id=None, detail=detail))

    text = console.export_text()
    assert "[ERROR] Runtime.ImportModuleError: [bold]x[/bold]" in text
    assert "    Traceback (most recent call last):" in text


def test_synthesis_hands_each_context_assignment_to_the_app_as_the_cdk_cli_would(tmp_path, monkeypatch):
    from s3flow.cli.local_up import synthesis_error

    # GIVEN an app that records the arguments it was run with
    (tmp_path / "app.py").write_text(
        "import json, pathlib, sys\npathlib.Path('argv.json').write_text(json.dumps(sys.argv[1:]))\n"
    )
    monkeypatch.chdir(tmp_path)

    # WHEN local up synthesizes with two settings, one of whose values holds an `=`
    error = synthesis_error(
        Path("cdk.out"), "TapStackdev", ("removalPolicy=retain", "notificationPrefix=in/a=b")
    )

    # THEN app.py got them as --context values, parsed as `cdk synth -c` parses them
    assert error is None
    assert json.loads((tmp_path / "argv.json").read_text()) == [
        "--context=removalPolicy=retain",
        "--context=notificationPrefix=in/a=b",
    ]
    from s3flow.infra.app import context_arguments

    assert context_arguments(json.loads((tmp_path / "argv.json").read_text())) == {
        "removalPolicy": "retain",
        "notificationPrefix": "in/a=b",
    }


def test_context_without_a_synthesis_to_give_it_to_is_refused_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from s3flow.cli.main import app

    runner = CliRunner()
    without_synth = runner.invoke(
        app, ["local", "up", "--cdk-out", str(tmp_path), "-c", "removalPolicy=retain"]
    )
    malformed = runner.invoke(app, ["local", "up", "--synth", "-c", "removalPolicy"])

    assert without_synth.exit_code != 0
    assert "--context is given to python app.py: it needs --synth or --watch" in without_synth.output
    assert malformed.exit_code == 2 and "is not key=value" in malformed.output


def test_the_banner_names_an_existing_bucket_the_emulator_made_as_a_stand_in():
    from types import SimpleNamespace

    from s3flow.cli.local_up import banner

    def pipeline(stand_ins: list[str]) -> SimpleNamespace:
        deployment = SimpleNamespace(outputs={"S3BucketName": "team-landing"}, stand_in_buckets=stand_ins)
        return SimpleNamespace(endpoint_url="http://127.0.0.1:4566", deployment=deployment, state=None)

    assert "bucket team-landing is not the stack's own" in banner(
        pipeline(["team-landing"]), "TapStackdev", 4
    )
    assert "stand-in" not in banner(pipeline([]), "TapStackdev", 4)
