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


def _stat(value):
    return {"median": value, "min": value, "max": value}


def test_render_shows_commands_per_request_and_the_scale_table():
    results = json.loads(BENCH_JSON.read_text())
    results["round_trips"] = [
        {
            "kind": "duplicate check-in",
            "status": "200 already_checked_in",
            "mongo": {"median": 2, "min": 2, "max": 3},
            "redis_trips": _stat(1),
            "redis": _stat(3),
            "mongo_commands": {"find": 1, "insert": 1},
            "redis_commands": {"evalsha": 1, "sismember": 2},
        }
    ]
    results["scale"] = [
        {"participants": 100, "check_ins": 0, "id": _stat(9.0) | {"ratio": 1.0},
         "ticket": _stat(10.0) | {"ratio": 1.0}},
        {"participants": 100000, "check_ins": 50000, "id": _stat(11.7) | {"ratio": 1.3},
         "ticket": _stat(12.0) | {"ratio": 1.2}},
    ]  # fmt: skip
    text = render(results, chart_name="timeline.png")
    assert (
        "| duplicate check-in | 200 already_checked_in | 2 (2-3) | 1 | 3 | find 1, insert 1; "
        "Redis: evalsha 1, sismember 2 |" in text
    )
    assert "| 100000 | 50000 | 0 | 11.7 (11.7-11.7) | 1.30 | 12.0 (12.0-12.0) | 1.20 |" in text
    assert "Largest ratio to the smallest size: 1.30x." in text


def test_a_figure_whose_requests_crashed_is_refused():
    from bench.__main__ import server_errors  # noqa: PLC0415 - the entry module, only here

    ok = {"samples": [{"answers": {"201": 150}}]}
    crashed = {"samples": [{"answers": {"201": 3, "500": 147}}]}
    assert server_errors({"check_in_throughput": {"ours, healthy": ok}}) == []
    assert server_errors({"check_in_throughput": {"plain, healthy": crashed}}) == [
        "check_in_throughput / plain, healthy: {'500': 147}"
    ]


def test_the_cpu_split_is_summarised_and_rendered_with_its_bounds():
    from bench.cpu_split import summarize  # noqa: PLC0415 - only this test needs it

    def run(worker, secantus):
        kinds = {"floor": (0.8, 0.0), "detail": (1.5, 0.0), "check_in": (worker, secantus),
                 "duplicate": (5.0, 8.0)}  # fmt: skip
        return {
            kind: {"wall_ms": w + s + 1, "statuses": {200: 10},
                   "cpu_ms": {"worker": w, "secantus": s, "redis": 0.0, "client": 1.2}}
            for kind, (w, s) in kinds.items()
        }  # fmt: skip

    rows = summarize([run(9.0, 16.0), run(11.0, 18.0), run(10.0, 17.0)], cores=2)
    check_in = next(row for row in rows if row["kind"] == "check_in")
    assert check_in["cpu_ms"]["worker"] == {"median": 10.0, "min": 9.0, "max": 11.0}
    assert check_in["total_cpu_ms"]["median"] == 28.2  # 10 + 17 + 0 + 1.2
    assert round(check_in["bound_per_s"]) == 71  # 2 cores / 28.2 ms
    results = json.loads(BENCH_JSON.read_text())
    results["cpu_split"] = {"cores": 2, "rows": rows}
    text = render(results, chart_name="timeline.png")
    assert "| POST check-in by id, 201 | 28.0 (26.0-30.0) | 10.0 (9.0-11.0) |" in text
    assert "the bounds alone give 71/s against 1000/s, 0.07x" in text
    assert "caps the ratio at 0.12x even if the app cost nothing" in text  # 2.0 / 17.0
    assert "a check-in costs 28 ms of CPU in all, section 8" in text
