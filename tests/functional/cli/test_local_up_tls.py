"""``s3flow local up --tls``: the emulator on HTTPS, and the commands of another shell that
reach it with the two variables its banner exports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s3flow.cli.main import app

from .local_up_support import local_up


@pytest.mark.e2e
def test_local_up_tls_serves_https_and_other_commands_trust_the_ca_it_prints(
    runner, synthesized: Path, tmp_path: Path
):
    # GIVEN `s3flow local up --tls` running in the foreground
    with local_up(synthesized, "--tls", "--concurrency", "1") as run:
        output = run.output
        exported = re.search(r"export (S3FLOW_ENDPOINT_URL=\S+) (S3FLOW_CA_BUNDLE=\S+)", output.text)
        assert exported, output.text
        env = dict(part.split("=", 1) for part in exported.groups())
        assert env["S3FLOW_ENDPOINT_URL"] == f"https://127.0.0.1:{run.port}"
        ca = Path(env["S3FLOW_CA_BUNDLE"])
        assert ca.is_file() and f"TLS: the CA made for this run (removed at stop) is {ca}" in output.text
        assert f"--ca-bundle {ca}" in output.text  # the aws CLI's way to trust it

        # WHEN another shell puts an object with the variables the banner exports
        sample = tmp_path / "secure.txt"
        sample.write_text("over tls")
        put = runner.invoke(app, ["put", str(sample)], env=env)
        assert put.exit_code == 0, put.output

        # THEN local up sees it recorded, and `s3flow records` reads it back over HTTPS
        assert output.wait_for("recorded", 60), output.text
        records = runner.invoke(app, ["records", "--since", "-1h"], env=env)
        assert records.exit_code == 0 and "secure.txt" in records.output, records.output
        # AND without the CA a command says, in one line, what to export
        untrusted = runner.invoke(
            app, ["records"], env={"S3FLOW_ENDPOINT_URL": env["S3FLOW_ENDPOINT_URL"], "S3FLOW_CA_BUNDLE": ""}
        )
        assert untrusted.exit_code == 1
        assert "did not verify" in untrusted.output and "export S3FLOW_CA_BUNDLE=" in untrusted.output
        # AND so does a command given a CA file that is gone, or the http:// endpoint
        gone = runner.invoke(app, ["records"], env={**env, "S3FLOW_CA_BUNDLE": str(tmp_path / "gone.pem")})
        assert gone.exit_code == 1 and "does not exist" in gone.output, gone.output
        plain = runner.invoke(app, ["records"], env={"S3FLOW_ENDPOINT_URL": f"http://127.0.0.1:{run.port}"})
        assert plain.exit_code == 1 and "use https://" in plain.output, plain.output
    # AND Ctrl-C stops it cleanly and removes the CA
    assert run.exit_code == 0, output.text
    assert not ca.exists()
