"""README.md's measured figures are rendered from the benchmark results docs/benchmarks.md shows
(bench.readme_figures), so the README and the benchmark cannot disagree."""

import json
from pathlib import Path

import pytest

from bench import readme_figures

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_figures_are_those_of_the_committed_benchmark_results():
    results = json.loads((ROOT / "docs" / "benchmarks" / "bench.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert readme_figures.block(results) in readme, (
        "README.md's figures differ from docs/benchmarks/bench.json: run make bench, or "
        "`make bench BENCH_ARGS='--render bench-results/<time>/bench.json'`"
    )


def _results(knee: str) -> dict:
    return {
        "started": "2026-12-07T12:00:00",
        "seconds": 900.0,
        "machine": {"nproc": 2, "loadavg_at_start": [1.0, 1.5, 2.0], "loadavg_at_end": [2, 2, 2]},
        "open_loop": {
            "summary": f"knee: healthy {knee}, redis down 20/s, redis paused 20/s; raw >=80/s; "
            "ours/raw <=0.50",
            "overload_line": "overload: at 80/s (2x the healthy knee) answered p99 200 ms",
            "goals_line": "goals: knee ours/raw <=0.50 (>= 0.8) FAILS",
            "protocol_line": "protocol: raw full 60/s (ours' MongoDB commands through pymongo); "
            "ours/raw full 0.67; raw full/raw <=0.75",
        },
    }


def test_a_render_replaces_the_block_and_nothing_else():
    readme = (
        f"# Title\n\nbefore\n\n{readme_figures.BEGIN}\nold figures\n{readme_figures.END}\n\nafter\n"
    )
    once = readme_figures.replaced(readme, _results("40/s"))
    assert "old figures" not in once and "healthy 40/s, redis down 20/s" in once
    assert "`raw full 60/s (ours' MongoDB commands through pymongo); ours/raw full 0.67" in once
    assert once.startswith("# Title\n\nbefore\n\n") and once.endswith("\n\nafter\n")
    again = readme_figures.replaced(once, _results("30/s"))
    assert "healthy 30/s" in again and "healthy 40/s" not in again
    assert again.count(readme_figures.BEGIN) == 1 and again.count(readme_figures.END) == 1


def test_a_readme_without_the_markers_is_an_error_not_a_silent_skip():
    with pytest.raises(ValueError, match="no"):
        readme_figures.replaced("# Title\n", _results("40/s"))
