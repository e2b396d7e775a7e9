"""``s3flow local up`` as a user runs it: a foreground process that prints each object's flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3flow.cli.main import app

from .conftest import REPO_ROOT
from .local_up_support import local_up


@pytest.mark.e2e
def test_local_up_serves_prints_the_flow_and_stops_on_ctrl_c(runner, synthesized: Path, tmp_path: Path):
    # GIVEN `s3flow local up` running in the foreground on a free port
    with local_up(synthesized, "--concurrency", "2") as run:
        output = run.output
        assert "state is kept in memory only" in output.text
        assert f"S3FLOW_ENDPOINT_URL={run.endpoint}" in output.text

        # WHEN an object is put through the CLI
        sample = tmp_path / "flow me+1.txt"
        sample.write_text("flowing")
        put = runner.invoke(app, ["put", str(sample), "--endpoint-url", run.endpoint])
        assert put.exit_code == 0, put.output

        # THEN the foreground process reports it received, routed and recorded
        assert output.wait_for("recorded", 60), output.text
        assert output.wait_for("routed", 60), output.text
        flow = [line for line in output.lines if "flow me+1.txt" in line]
        assert any("received" in line for line in flow), output.text
    # AND Ctrl-C stops it cleanly
    assert run.exit_code == 0, output.text
    assert output.wait_for("stopped; the emulator's state is gone", 5), output.text
    assert "Traceback" not in output.text and "error:" not in output.text


def test_local_up_synth_synthesizes_before_checking_the_port(runner, tmp_path: Path, monkeypatch):
    # GIVEN no cloud assembly yet, and a busy port
    import socket

    monkeypatch.chdir(REPO_ROOT)
    out = tmp_path / "assembly"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # WHEN `local up --synth` is asked for
        result = runner.invoke(app, ["local", "up", "--synth", "--cdk-out", str(out), "--port", str(port)])

    # THEN the template was synthesized into the folder, then the port was refused in one line
    assert (out / "TapStackdev.template.json").is_file(), result.output
    assert result.exit_code == 1
    assert f"port {port} is in use" in result.output


def port_left_in_time_wait() -> int:
    """A port whose only trace is a connection the server side closed first (TIME_WAIT),
    as after Ctrl-C on a server that had answered clients."""
    import socket

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            served, _ = listener.accept()
            client.sendall(b"ping")
            assert served.recv(4) == b"ping"
            served.sendall(b"pong")
            served.close()  # the server closes first: its end waits in TIME_WAIT
            assert client.recv(4) == b"pong"
    return port


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free_to_restart_on():
    from s3flow.cli.local_up import check_port_free
    from s3flow.local.server import LocalServer

    port = port_left_in_time_wait()

    check_port_free(port)  # no CliError: TIME_WAIT does not hold a port for a new server
    server = LocalServer(port=port)
    server.start()
    server.stop()


def test_a_port_held_by_a_listening_process_is_refused_in_one_line():
    import socket

    from s3flow.cli.errors import CliError
    from s3flow.cli.local_up import check_port_free

    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # even a listener that allows reuse
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CliError) as refused:
            check_port_free(port)

    assert str(refused.value) == f"port {port} is in use: stop what holds it or pick another with --port"


@pytest.mark.e2e
def test_ctrl_c_during_invocations_stops_cleanly_and_names_what_was_in_flight(synthesized: Path):
    import boto3

    # GIVEN `local up` in its own process group, as a terminal runs a foreground command
    with local_up(synthesized, "--concurrency", "1", ctrl_c_to_group=True) as run:
        s3 = boto3.client("s3", endpoint_url=run.endpoint, region_name="us-east-1")
        bucket = next(
            b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("object-trigger-bucket")
        )
        keys = [f"burst/{n}.txt" for n in range(12)]
        for key in keys:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # WHEN Ctrl-C is pressed (the terminal signals the whole foreground group): the block's end
    output, code = run.output, run.exit_code

    # THEN it stops cleanly, and every upload is either processed or named as lost
    assert code == 0, output.text
    assert "Traceback" not in output.text and "retrying" not in output.text, output.text
    assert "stopped; the emulator's state is gone" in output.text
    for key in keys:
        processed = any(f" {key} " in line and "recorded" in line for line in output.lines)
        named = f"  not processed  {bucket}/{key} (" in output.text
        assert processed != named, (key, output.text)
