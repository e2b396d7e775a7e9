"""The publisher's batching window: absent by default, else MaximumBatchingWindowInSeconds
on its stream mapping, set by the Publishing prop, the stack prop or ``-c publisherBatchingWindow``.

The default case is the session template; the others synthesize their own stack. The
Publishing construct alone gets inline code, so no asset is bundled for it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from s3flow.infra.app import create_app
from s3flow.infra.publishing import batching_window_value
from s3flow.infra.stack import resolve_publisher_batching_window
from support.units import publishing_alone, stream_mapping

SETTING = "MaximumBatchingWindowInSeconds"


def _publishing(window: Any) -> Template:
    return publishing_alone(publisher_batching_window_seconds=window)


def test_the_stream_mapping_has_no_batching_window_by_default(template: Template) -> None:
    assert SETTING not in stream_mapping(template)


@pytest.mark.parametrize("window", [1, 300])
def test_the_publishing_prop_sets_the_window_on_thestream_mapping(window: int) -> None:
    assert stream_mapping(_publishing(window))[SETTING] == window


def test_a_zero_window_leaves_the_setting_out() -> None:
    assert SETTING not in stream_mapping(_publishing(0))


def test_the_context_value_sets_the_window_on_the_stacksstream_mapping(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    app, stack = create_app(
        outdir=str(tmp_path_factory.mktemp("cdk.out")),
        context={"environmentSuffix": "window", "publisherBatchingWindow": "1"},
    )
    app.synth()
    assert stream_mapping(Template.from_stack(stack))[SETTING] == 1


def test_the_prop_wins_over_the_context() -> None:
    app = App(context={"publisherBatchingWindow": "5"})

    assert resolve_publisher_batching_window(app, 7) == 7
    assert resolve_publisher_batching_window(app, None) == 5
    assert resolve_publisher_batching_window(app, 0) == 0  # an explicit 0 turns the window off
    assert resolve_publisher_batching_window(App(), None) == 0
    assert resolve_publisher_batching_window(App(context={"publisherBatchingWindow": 12}), None) == 12


@pytest.mark.parametrize("value", [-1, 301, "301", "1.5", 1.5, "soon", "", "-2", True])
def test_a_window_lambda_would_refuse_fails_naming_the_setting_and_the_value(value: Any) -> None:
    message = re.escape("publisherBatchingWindow (publisher_batching_window_seconds) must be a whole ")
    with pytest.raises(ValueError, match=message + r".* 0 to 300, got " + re.escape(repr(value))):
        batching_window_value(value)


def test_an_invalid_context_value_fails_the_synth() -> None:
    with pytest.raises(ValueError, match=r"publisherBatchingWindow .* got '301'"):
        create_app(context={"publisherBatchingWindow": "301"})


def test_an_invalid_prop_fails_the_construct() -> None:
    with pytest.raises(ValueError, match=r"publisherBatchingWindow .* got 301"):
        _publishing(301)
