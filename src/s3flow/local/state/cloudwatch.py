"""CloudWatch: metric data points and the state of each alarm.

Every data point put (values and statistic sets), with its namespace, name, dimensions,
time and unit, is put back straight into moto's list. Each alarm that still exists gets its
state, reason, reason data, last change and history back, so an alarm already in ALARM does
not change state (and notify its topic) again after a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from s3flow.local.state.times import epoch, naive_utc


def _backend(account: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region]


def _datum(datum: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "namespace": datum.namespace,
        "name": datum.name,
        "dimensions": [{"Name": d.name, "Value": d.value} for d in datum.dimensions],
        "timestamp": epoch(datum.timestamp),
        "unit": datum.unit,
    }
    if hasattr(datum, "value"):
        entry["value"] = datum.value
    else:
        entry["statistics"] = [datum.min, datum.max, datum.sample_count, datum.sum]
    return entry


def _history(entry: tuple[Any, ...]) -> list[Any]:
    """moto's ("StateUpdate", reason, reason data, state, time) with the time in seconds."""
    return [epoch(item) if isinstance(item, datetime) else item for item in entry]


def export(account: str, region: str) -> dict[str, Any]:
    backend = _backend(account, region)
    return {
        "metric_data": [_datum(datum) for datum in list(backend.metric_data)],
        "alarms": {
            name: {
                "state_value": alarm.state_value,
                "state_reason": alarm.state_reason,
                "state_reason_data": alarm.state_reason_data,
                "state_updated": epoch(alarm.state_updated_timestamp),
                "history": [_history(entry) for entry in list(alarm.history)],
            }
            for name, alarm in list(backend.alarms.items())
        },
    }


def restore(account: str, region: str, saved: dict[str, Any]) -> list[str]:
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

    backend = _backend(account, region)
    data: list[Any] = []
    for entry in saved.get("metric_data", []):
        common = (entry["namespace"], entry["name"])
        timestamp = naive_utc(entry["timestamp"])
        if "value" in entry:
            data.append(MetricDatum(*common, entry["value"], entry["dimensions"], timestamp, entry["unit"]))
        else:
            low, high, count, total = entry["statistics"]
            data.append(
                MetricAggregatedDatum(
                    *common, low, high, count, total, entry["dimensions"], timestamp, entry["unit"]
                )
            )
    backend.metric_data[:0] = data
    missing = []
    for name, state in saved.get("alarms", {}).items():
        alarm = backend.alarms.get(name)
        if alarm is None:
            missing.append(f"alarm {name} (its state)")
            continue
        alarm.state_value = state["state_value"]
        alarm.state_reason = state["state_reason"]
        alarm.state_reason_data = state["state_reason_data"]
        alarm.state_updated_timestamp = naive_utc(state["state_updated"])
        alarm.history = [
            tuple(
                naive_utc(item) if index == 4 and isinstance(item, float | int) else item
                for index, item in enumerate(entry)
            )
            for entry in state["history"]
        ]
    return missing
