"""The state folder: written whole or not at all, and a folder that cannot be read, or holds
another stack's state, stops the start in one line instead of starting empty over it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from moto import mock_aws

from s3flow.local.state import StateError, StateKeeper
from s3flow.local.state.files import StateFolder

from .conftest import ACCOUNT, REGION, client


def _keeper(path: Path, stack: str = "TapStackdev") -> StateKeeper:
    return StateKeeper(path, stack_name=stack, region=REGION)


def _nothing() -> list:
    return []


def test_a_missing_or_empty_folder_holds_no_state_yet(tmp_path: Path):
    assert StateFolder(tmp_path / "new").read() is None
    assert StateFolder(tmp_path).read() is None


def test_a_folder_of_something_else_is_refused(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")

    with pytest.raises(StateError, match="is not an s3flow state folder .*notes.txt"):
        StateFolder(tmp_path).read()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "other"}', "is not an s3flow state document"),
        ('{"format": "s3flow-local-state", "version": 99}', "is state format version 99"),
    ],
)
def test_a_damaged_or_foreign_document_is_refused_in_one_line(tmp_path: Path, content: str, message: str):
    (tmp_path / "state.json").write_text(content)

    with pytest.raises(StateError, match=message) as raised:
        _keeper(tmp_path).open()

    assert "\n" not in str(raised.value)


def test_the_state_of_another_stack_is_refused(tmp_path: Path):
    StateFolder(tmp_path).write({"stack": "TapStackprod", "region": REGION, "account": ACCOUNT})

    with pytest.raises(StateError, match="holds the state of TapStackprod in us-east-1, not TapStackdev"):
        _keeper(tmp_path).open()


def test_a_damaged_body_is_refused(tmp_path: Path):
    folder = StateFolder(tmp_path)
    name = folder.put_body(b"content")
    (tmp_path / "bodies" / name).write_bytes(b"changed")

    with pytest.raises(StateError, match="is damaged"):
        StateFolder(tmp_path).get_body(name)


def test_a_write_replaces_the_document_whole_and_leaves_no_temporary_file(tmp_path: Path):
    folder = StateFolder(tmp_path)
    folder.write({"stack": "TapStackdev", "n": 1})
    folder.write({"stack": "TapStackdev", "n": 2})

    assert json.loads((tmp_path / "state.json").read_text())["n"] == 2
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["state.json"]


def test_a_save_writes_each_body_once_and_removes_those_no_longer_named(tmp_path: Path):
    with mock_aws():
        client("s3").create_bucket(Bucket="bucket")
        client("s3").put_object(Bucket="bucket", Key="k", Body=b"one")
        keeper = _keeper(tmp_path)
        keeper.open()
        keeper.restore(ACCOUNT)
        keeper.begin()
        keeper.save(ACCOUNT, dict, _nothing)
        client("s3").put_object(Bucket="bucket", Key="k", Body=b"two")  # not versioned: replaces one

        summary = keeper.save(ACCOUNT, dict, _nothing)

    assert summary.object_versions == 1
    (body,) = (tmp_path / "bodies").iterdir()
    assert body.read_bytes() == b"two"


def test_a_folder_in_use_by_another_pipeline_is_refused_until_it_is_closed(tmp_path: Path):
    first = _keeper(tmp_path)
    first.open()

    with pytest.raises(StateError, match="is in use by another running pipeline"):
        _keeper(tmp_path).open()

    first.close()
    assert _keeper(tmp_path).open() is None


def test_a_started_pipeline_saves_an_empty_folder_but_one_that_did_not_start_whole_never_does(tmp_path: Path):
    keeper = _keeper(tmp_path)
    keeper.open()
    with mock_aws():
        keeper.restore(ACCOUNT)

        with pytest.raises(StateError, match="not saving over it"):
            keeper.save(ACCOUNT, dict, _nothing)
        keeper.begin()
        keeper.save(ACCOUNT, dict, _nothing)

    assert (tmp_path / "state.json").is_file()


def test_a_state_that_was_not_restored_is_never_saved_over(tmp_path: Path):
    StateFolder(tmp_path).write({"stack": "TapStackdev", "region": REGION, "account": "000000000000"})
    keeper = _keeper(tmp_path)
    keeper.open()
    with mock_aws():
        with pytest.raises(StateError, match="account 000000000000, not 123456789012"):
            keeper.restore(ACCOUNT)

        with pytest.raises(StateError, match="not saving over it"):
            keeper.save(ACCOUNT, dict, _nothing)

    assert json.loads((tmp_path / "state.json").read_text())["account"] == "000000000000"


def test_a_whole_state_round_trips_through_the_folder(tmp_path: Path):
    with mock_aws():
        client("s3").create_bucket(Bucket="bucket")
        client("s3").put_object(Bucket="bucket", Key="k", Body=b"one")
        client("sqs").create_queue(QueueName="q")
        keeper = _keeper(tmp_path)
        keeper.open()
        keeper.restore(ACCOUNT)
        keeper.begin()
        keeper.save(ACCOUNT, lambda: {"Mapping": {"shard-1": 7}}, _nothing)

    with mock_aws():
        client("s3").create_bucket(Bucket="bucket")
        keeper.close()
        again = _keeper(tmp_path)
        summary = again.open()
        restored = again.restore(ACCOUNT)

        assert client("s3").get_object(Bucket="bucket", Key="k")["Body"].read() == b"one"
    assert summary is not None and summary.object_versions == 1
    assert restored.positions == {"Mapping": {"shard-1": 7}}
    assert restored.not_restored == ()  # the queue held no message: nothing to miss


def test_while_running_the_state_is_saved_on_its_own_and_an_unchanged_state_is_not_written_again(
    tmp_path: Path,
):
    with mock_aws():
        client("s3").create_bucket(Bucket="bucket")
        keeper = StateKeeper(tmp_path, stack_name="TapStackdev", region=REGION, interval=0.01)
        keeper.open()
        keeper.restore(ACCOUNT)
        keeper.begin()
        client("s3").put_object(Bucket="bucket", Key="k", Body=b"one")

        keeper.start_autosave(ACCOUNT, dict, _nothing)
        try:
            deadline = time.monotonic() + 10
            while not (tmp_path / "state.json").is_file() and time.monotonic() < deadline:
                time.sleep(0.01)
            written = (tmp_path / "state.json").stat().st_ino  # a write replaces the file
            keeper.save(ACCOUNT, dict, _nothing)
        finally:
            keeper.stop_autosave()

    assert json.loads((tmp_path / "state.json").read_text())["services"]["s3"]["bucket"][0]["key"] == "k"
    assert (tmp_path / "state.json").stat().st_ino == written
