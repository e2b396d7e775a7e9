"""The emulator's public surface: ``s3flow.local.__all__``, imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import s3flow.local


def test_every_public_name_resolves_to_the_object_of_its_home_module():
    for name in s3flow.local.__all__:
        value = getattr(s3flow.local, name)
        assert value is not None, name
        home = getattr(value, "__module__", None)
        if home is not None:
            assert home.startswith("s3flow.local"), (name, home)


def test_a_name_outside_the_surface_is_an_attribute_error():
    with pytest.raises(AttributeError):
        s3flow.local.lambda_runtime  # type: ignore[attr-defined]  # noqa: B018


def _modules_loaded_by(statement: str) -> set[str]:
    probe = f"{statement}; import sys; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_a_sandbox_and_the_credentials_import_without_the_emulator():
    # a sandbox is a fresh interpreter that imports its module alone: moto stays out of it
    sandbox = _modules_loaded_by("import s3flow.local.lambda_.sandbox")
    assert "moto" not in sandbox and "boto3" not in sandbox
    credentials = _modules_loaded_by("import s3flow.local.credentials")
    assert "moto" not in credentials and "s3flow.local.pipeline" not in credentials
