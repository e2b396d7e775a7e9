"""What the README says the stack holds, counted in the synthesized template."""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk.assertions import Template

README = Path(__file__).resolve().parents[3] / "README.md"
NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
]  # fmt: skip


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS.index(word.lower())


def test_the_readme_counts_every_alarm_of_the_template(template: Template):
    text = README.read_text()
    operations = re.search(r"^(\w+) alarms \(", text, re.MULTILINE)
    dashboard = re.search(r"Alarms: all (\w+)", text)
    assert operations and dashboard, "the README no longer says how many alarms there are"

    alarms = len(template.find_resources("AWS::CloudWatch::Alarm"))

    assert _number(operations.group(1)) == alarms, operations.group(0)
    assert _number(dashboard.group(1)) == alarms, dashboard.group(0)
