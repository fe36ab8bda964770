"""The benchmark's chart: latency of every request over time, faults shaded, ours above plain."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display here; must precede pyplot
import matplotlib.pyplot as plt

LABELS = {
    "ours": "ours (fallback layer + breaker)",
    "plain": "plain django-redis, IGNORE_EXCEPTIONS=True",
}
FAULT_TEXT = {"pause": "Redis SIGSTOP", "kill": "Redis SIGKILL (down)", "restart": "restart empty"}
OPS = {
    "check_in": ("check-in", "tab:blue"),
    "session_detail": ("detail", "tab:green"),
    "stats": ("stats", "tab:orange"),
}


def timeline_chart(timeline: dict, path: Path) -> Path:
    """Draw request latency (log scale) against time for each server; return the PNG's path."""
    variants = sorted({p["variant"] for p in timeline["points"]}, key=lambda v: v != "ours")
    fig, axes = plt.subplots(
        len(variants), 1, figsize=(11, 3.2 * len(variants)), sharex=True, sharey=True
    )
    if len(variants) == 1:
        axes = [axes]
    for ax, variant in zip(axes, variants, strict=True):
        points = [p for p in timeline["points"] if p["variant"] == variant]
        for op, (label, color) in OPS.items():
            chosen = [p for p in points if p["op"] == op and p["status"] is not None]
            ax.scatter(
                [p["t"] for p in chosen],
                [p["ms"] for p in chosen],
                s=5,
                alpha=0.6,
                color=color,
                label=label,
            )
        for fault in timeline["faults"]:
            end = max(fault["end"], fault["start"] + 0.3)
            ax.axvspan(fault["start"], end, color="red", alpha=0.12)
            ax.axvline(fault["start"], color="red", linewidth=0.8)
            ax.text(
                fault["start"] + 0.2,
                0.97,
                FAULT_TEXT.get(fault["kind"], fault["kind"]),
                transform=ax.get_xaxis_transform(),
                fontsize=8,
                color="darkred",
                va="top",
            )
        ax.set_yscale("log")
        ax.set_ylabel("latency (ms)")
        ax.set_title(LABELS.get(variant, variant), fontsize=10, loc="left")
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(loc="upper right", fontsize=8, markerscale=3)
    top = max((p["ms"] for p in timeline["points"]), default=1000.0)
    axes[0].set_ylim(top=top * 1.6)
    axes[-1].set_xlabel("seconds since the server's run started (one server at a time, 2 clients)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
