"""A function's code updated while it runs (``LambdaRuntime.update_function_code``), as Lambda's
UpdateFunctionCode: the invocation running at the update finishes on the old code, the next
one runs the new code in a new sandbox, and each outcome names the code version that ran it.

Each version of the code is an asset folder named as CDK names one (``asset.<hash>``) holding
a handler that says which code it is; an event naming a gate file holds its invocation until
the test creates that file, so "running at the update" is a fact, not a timing.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from s3flow.local.lambda_.code_update import CodeVersion, import_problem

from .runtime_support import make_runtime, spec

HANDLER = """
import os
import time

CODE = {code!r}


def handler(event, context):
    gate = event.get("gate")
    if gate:
        open(gate + ".started", "w").close()
        while not os.path.exists(gate):
            time.sleep(0.01)
    return {{"code": CODE, "pid": os.getpid()}}
"""


def write_code(root: Path, digest: str, code: str) -> str:
    folder = root / f"asset.{digest * 64}"
    folder.mkdir()
    (folder / "versioned.py").write_text(HANDLER.format(code=code), encoding="utf-8")
    return str(folder)


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_the_running_invocation_finishes_on_the_old_code_and_the_next_one_runs_the_new(
    server, runtimes, tmp_path
):
    # GIVEN a function on its first code, with two sandboxes, one of them busy on a held event
    old = write_code(tmp_path, "a", "one")
    new = write_code(tmp_path, "b", "two")
    function = replace(spec("echo"), handler="versioned.handler", code_directory=old)
    runtime = make_runtime(server, function, concurrency=2)
    runtimes.append(runtime)
    warm = runtime.invoke(function.name, {})
    assert warm.ok and warm.payload["code"] == "one"
    gate = tmp_path / "gate"
    held = runtime.enqueue(function.name, {"gate": str(gate)})
    wait_for(Path(f"{gate}.started"))

    # WHEN the code is updated
    version = runtime.update_function_code(function.name, new)

    # THEN the next invocation runs the new code, in a sandbox that is not the warm one
    after = runtime.invoke(function.name, {})
    assert version == CodeVersion(2, "b" * 8) == runtime.code_version(function.name)
    assert after.ok and after.payload["code"] == "two"
    assert after.code_version == "v2 bbbbbbbb"
    assert after.init is not None  # a cold start
    assert after.payload["pid"] != warm.payload["pid"]
    # AND the invocation that was running finishes on the code it started with
    gate.touch()
    assert runtime.wait_idle(60)
    assert held.last is not None and held.last.ok
    assert held.last.payload["code"] == "one"
    assert held.last.code_version == warm.code_version == "v1 aaaaaaaa"
    # AND the function's spec names the new code, for every later sandbox
    assert runtime.resolve(function.name).code_directory == new


def test_going_back_to_earlier_code_is_a_new_version(server, runtimes, tmp_path):
    first = write_code(tmp_path, "a", "one")
    second = write_code(tmp_path, "b", "two")
    function = replace(spec("echo"), handler="versioned.handler", code_directory=first)
    runtime = make_runtime(server, function)
    runtimes.append(runtime)

    runtime.update_function_code(function.name, second)
    runtime.update_function_code(function.name, first)
    outcome = runtime.invoke(function.name, {})

    assert outcome.payload["code"] == "one"
    assert outcome.code_version == "v3 aaaaaaaa"


def test_code_whose_handler_does_not_import_is_named_before_it_runs(tmp_path):
    good = write_code(tmp_path, "a", "one")
    broken = tmp_path / f"asset.{'c' * 64}"
    broken.mkdir()
    (broken / "versioned.py").write_text("def handler(event, context)\n    return 1\n", encoding="utf-8")
    function = replace(spec("echo"), handler="versioned.handler")

    assert import_problem(function, good) is None
    problem = import_problem(function, str(broken))
    assert problem is not None
    assert problem.startswith("versioned:handler cannot be imported from the new code: SyntaxError")
