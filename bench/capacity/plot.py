"""docs/capacity-burst.png: the day's backlog and lag, whole and around the burst."""

from __future__ import annotations

from pathlib import Path

from bench.capacity.simulation import Run


def draw(run: Run, output: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: bench runs headless
    import matplotlib.pyplot as plt

    hours = [t / 3600 for t in range(len(run.async_queue))]
    start = max(0, run.burst_start - 120)
    drained = run.drained_at() or len(hours)
    end = min(len(hours), max(run.burst_end + 600, drained + 300))
    zoom = range(start, end)
    minutes = [(t - run.burst_start) / 60 for t in zoom]
    queues = [
        ("processor's async queue", run.async_queue),
        ("stream (written, not published)", run.stream_backlog),
        ("rule deliveries to the log group", run.delivery_backlog),
    ]
    lags = [
        ("upload to record", run.record_lag),
        ("upload to event (publisher)", run.event_lag),
        ("stream iterator age", run.iterator_age),
    ]
    figure, axes = plt.subplots(2, 2, figsize=(10, 6), dpi=80)
    for (name, series), style in zip(queues, ("-", "--", ":"), strict=True):
        axes[0][0].plot(hours, series, style, label=name)
        axes[0][1].plot(minutes, [series[t] for t in zoom], style, label=name)
    for (name, series), style in zip(lags, ("-", "--", ":"), strict=True):
        axes[1][0].plot(hours, series, style, label=name)
        axes[1][1].plot(minutes, [series[t] for t in zoom], style, label=name)
    axes[0][0].set_title("the day (hours)")
    axes[0][1].set_title("around the burst (minutes from its start)")
    axes[0][0].set_ylabel("backlog (objects)")
    axes[1][0].set_ylabel("lag (s, queueing)")
    axes[1][0].set_xlabel("hour of the day")
    axes[1][1].set_xlabel("minutes from the burst's start")
    for row in axes:
        for ax in row:
            ax.grid(alpha=0.3)
    axes[0][1].legend(fontsize=8)
    axes[1][1].legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, format="png", metadata={"Software": None})
    plt.close(figure)
