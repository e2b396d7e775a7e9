"""What importing a handler loads: never CDK, no botocore (the functions call AWS through
``aws_api``: botocore's import is most of a cold start), and no OpenTelemetry until a sampled
invocation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import s3flow.functions
from s3flow import contract

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"opentelemetry": "opentelemetry" in loaded, "aws_cdk": "aws_cdk" in loaded,
                  "jsii": "jsii" in loaded, "moto": "moto" in loaded,
                  "botocore": "botocore" in loaded, "boto3": "boto3" in loaded}))
"""


@pytest.mark.parametrize("handler", [contract.HANDLER, contract.PUBLISHER_HANDLER])
def test_importing_a_handler_loads_no_cdk_no_botocore_and_no_tracing_sdk(handler: str) -> None:
    module = handler.rsplit(".", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module], capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout) == {
        "opentelemetry": False,
        "aws_cdk": False,
        "jsii": False,
        "moto": False,
        "botocore": False,
        "boto3": False,
    }


def test_no_function_module_imports_aws_cdk() -> None:
    sources = Path(s3flow.functions.__file__).parent.rglob("*.py")
    importing = re.compile(r"^\s*(from|import)\s+aws_cdk", re.MULTILINE)

    offenders = [path.name for path in sources if importing.search(path.read_text(encoding="utf-8"))]

    assert offenders == []


CA_BUNDLE_PROBE = """
import importlib, ssl, sys
loads = []
load_default_certs = ssl.SSLContext.load_default_certs
def counting(context, *args, **kwargs):
    loads.append(context)
    load_default_certs(context, *args, **kwargs)
ssl.SSLContext.load_default_certs = counting
for module in sys.argv[1:]:
    importlib.import_module(module)
print(len(loads))
"""


def test_importing_the_handlers_loads_no_ca_bundle() -> None:
    modules = [handler.rsplit(".", 1)[0] for handler in (contract.HANDLER, contract.PUBLISHER_HANDLER)]

    result = subprocess.run(
        [sys.executable, "-c", CA_BUNDLE_PROBE, *modules], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "0"
