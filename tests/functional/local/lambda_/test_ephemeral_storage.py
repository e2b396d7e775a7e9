"""Each sandbox's own ``/tmp`` (``TMPDIR``, ``tempfile``), sized by the function's
``EphemeralStorage``: kept across warm invocations, empty in a new sandbox, removed when its
sandbox ends, and a write past its size fails (``lambda_.ephemeral_storage``)."""

from __future__ import annotations

import dataclasses
import errno
import os
import tempfile
from pathlib import Path

import pytest

from s3flow.local.deployment import FunctionSpec
from s3flow.local.lambda_.ephemeral_storage import private_mounts_available

from ..cloudformation.conftest import deploy, function_template
from .runtime_support import make_runtime, spec

SIZE_MB = 8  # Lambda's least is 512: a small one keeps the writes short


def tmp_files(size_mb: int = SIZE_MB) -> FunctionSpec:
    base = spec("tmp_files")
    return dataclasses.replace(
        base, handler=f"{__package__}.limits_handlers.tmp_files", ephemeral_storage_mb=size_mb
    )


def test_tempfile_writes_to_the_sandboxs_own_directory_kept_across_warm_invocations(server, runtimes):
    runtime = make_runtime(server, tmp_files())
    runtimes.append(runtime)

    first = runtime.invoke("fn-tmp_files", {"write": {"first": 1}}).payload
    second = runtime.invoke("fn-tmp_files", {"write": {"second": 1}}).payload

    assert first["pid"] == second["pid"]
    assert first["tmpdir"] == first["environ"] == second["tmpdir"]
    assert Path(first["tmpdir"]).parent != Path(tempfile.gettempdir())  # not this machine's /tmp
    assert first["files"] == ["first"] and second["files"] == ["first", "second"]


def test_a_new_sandbox_starts_with_an_empty_directory_and_the_old_one_is_removed(server, runtimes):
    runtime = make_runtime(server, tmp_files())
    runtimes.append(runtime)
    before = runtime.invoke("fn-tmp_files", {"write": {"kept": 1}}).payload

    runtime.invoke("fn-tmp_files", {"die": True})  # the sandbox ends
    after = runtime.invoke("fn-tmp_files", {}).payload

    assert after["pid"] != before["pid"]
    assert after["tmpdir"] != before["tmpdir"] and after["files"] == []
    assert not os.path.exists(before["tmpdir"])

    runtime.stop()
    assert not os.path.exists(after["tmpdir"])


def test_a_file_written_past_the_size_fails(server, runtimes):
    runtime = make_runtime(server, tmp_files())
    runtimes.append(runtime)

    result = runtime.invoke("fn-tmp_files", {"write": {"big": SIZE_MB + 1}}).payload

    if private_mounts_available():  # the private tmpfs: as on AWS
        assert result["error"] == {
            "errno": errno.ENOSPC,
            "strerror": "No space left on device",
            "file": "big",
        }
        assert result["filesystem_bytes"] == SIZE_MB * 1024 * 1024
    else:  # the file size limit
        assert result["error"] == {"errno": errno.EFBIG, "strerror": "File too large", "file": "big"}


def test_files_together_past_the_size_fail_in_the_private_tmpfs(server, runtimes):
    if not private_mounts_available():
        pytest.skip("no private tmpfs on this machine: only each file's size is limited")
    runtime = make_runtime(server, tmp_files())
    runtimes.append(runtime)

    first = runtime.invoke("fn-tmp_files", {"write": {"a": SIZE_MB // 2}}).payload
    second = runtime.invoke("fn-tmp_files", {"write": {"b": SIZE_MB // 2 + 1}}).payload

    assert first["error"] is None
    assert second["error"] == {"errno": errno.ENOSPC, "strerror": "No space left on device", "file": "b"}


@pytest.mark.parametrize(("properties", "size_mb"), [({}, 512), ({"EphemeralStorage": {"Size": 2048}}, 2048)])
def test_the_template_s_ephemeral_storage_sizes_the_function_s_tmp(
    tmp_path: Path, moto_endpoint: str, properties: dict[str, object], size_mb: int
) -> None:
    resources = function_template()
    resources["Fn"]["Properties"].update(properties)

    deployment = deploy(tmp_path, moto_endpoint, resources)

    assert deployment.functions["processor"].ephemeral_storage_mb == size_mb
