"""``s3flow local up``'s report of the work a stop cuts short, without a pipeline."""

from __future__ import annotations


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
