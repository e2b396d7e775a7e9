"""The cloud assembly the CDK CLI writes (`npx cdk synth`, `cdk deploy`) runs locally too.

The CLI synthesizes with more than `python app.py` does: version reporting adds an
``AWS::CDK::Metadata`` resource under a region condition, and path and asset metadata land on
every resource. A user who ran `make deploy` and then `s3flow local up` gets that assembly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s3flow.local.cloudformation import provision
from support.synthesis import CDK_CLI, synthesize

STACK = "TapStackdev"
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


@pytest.fixture(scope="module")
def cli_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli.cdk.out")
    command = [str(CDK_CLI), "synth", "--quiet", "--output", str(out)]
    synthesize(command, env={"CDK_DISABLE_CLI_TELEMETRY": "true"})
    return out


def test_the_cdk_cli_assembly_provisions_with_its_metadata_resource(
    cli_assembly: Path, moto_endpoint: str
) -> None:
    template = json.loads((cli_assembly / f"{STACK}.template.json").read_text())
    metadata = [lid for lid, res in template["Resources"].items() if res["Type"] == "AWS::CDK::Metadata"]
    assert metadata, "the CLI's assembly carries CDK's version-reporting resource"

    deployment = provision(cli_assembly, STACK, endpoint_url=moto_endpoint, region="us-east-1")

    # Recorded as CloudFormation records it (it creates nothing), with every other resource.
    assert set(metadata) <= set(deployment.physical_ids)
    assert set(deployment.physical_ids) == set(template["Resources"])
    assert set(deployment.outputs) == set(template["Outputs"])
