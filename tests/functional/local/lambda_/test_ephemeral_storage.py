"""Each sandbox's own ``/tmp``, sized by the function's ``EphemeralStorage``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..cloudformation.conftest import deploy, function_template


@pytest.mark.parametrize(("properties", "size_mb"), [({}, 512), ({"EphemeralStorage": {"Size": 2048}}, 2048)])
def test_the_template_s_ephemeral_storage_sizes_the_function_s_tmp(
    tmp_path: Path, moto_endpoint: str, properties: dict[str, object], size_mb: int
) -> None:
    resources = function_template()
    resources["Fn"]["Properties"].update(properties)

    deployment = deploy(tmp_path, moto_endpoint, resources)

    assert deployment.functions["processor"].ephemeral_storage_mb == size_mb
