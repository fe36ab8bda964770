"""docs/benchmarks.md is rendered from bench.json: every figure comes from the run's numbers."""

import json
from pathlib import Path

from bench.docs import render

BENCH_JSON = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "bench.json"


def test_render_shows_the_runs_medians_and_spreads():
    results = json.loads(BENCH_JSON.read_text())
    text = render(results, chart_name="timeline.png")
    assert text.startswith("# Benchmarks")
    assert results["started"] in text
    floor = results["floor"]["rps"]
    assert f"{floor['median']:.0f} ({floor['min']:.0f}-{floor['max']:.0f})" in text
    assert "timeline.png" in text


def test_render_follows_the_numbers():
    results = json.loads(BENCH_JSON.read_text())
    results["floor"]["rps"] = {"median": 12345.0, "min": 12000.0, "max": 12999.0}
    assert "12345 (12000-12999)" in render(results, chart_name="timeline.png")
