"""bench.cpu_split's command line, its last line (the check-in's split) and its paired summary,
without a stack."""

from bench.cpu_split import (
    BASELINE,
    PAIRED_REQUESTS,
    check_in_line,
    paired_line,
    paired_summary,
    parse_args,
    summarize,
)


def _run(worker: float, secantus: float) -> dict:
    kinds = {"floor": (0.8, 0.0), "detail": (1.5, 0.0), "check_in": (worker, secantus),
             "duplicate": (5.0, 8.0)}  # fmt: skip
    return {
        kind: {"wall_ms": w + s + 1, "statuses": {200: 10},
               "cpu_ms": {"worker": w, "secantus": s, "redis": 0.2, "client": 1.2}}
        for kind, (w, s) in kinds.items()
    }  # fmt: skip


def test_the_last_line_gives_the_check_ins_medians_worker_server_and_all_processes():
    rows = summarize([_run(9.0, 16.0), _run(11.0, 18.0), _run(3.95, 17.0)], cores=2)
    # worker median 9.0, server 17.0, total median of 26.4, 36.4, 22.35 (+0.2 redis +1.2 client)
    assert check_in_line(rows) == "check-in 201: worker 9.0 ms, server 17.0 ms, total 26.4 ms"


def test_quick_measures_fewer_requests_unless_told_otherwise():
    full, quick = parse_args([]), parse_args(["--quick"])
    assert (full.requests, full.runs) == (200, 3)
    assert quick.requests < full.requests and quick.runs < full.runs
    told = parse_args(["--quick", "--requests", "150", "--runs", "3"])
    assert (told.requests, told.runs) == (150, 3)


def _block(base: tuple[float, float], ours: tuple[float, float]) -> dict:
    return {
        "baseline": {"worker": base[0], "secantus": base[1]},
        "ours": {"worker": ours[0], "secantus": ours[1]},
    }


def test_a_paired_run_reports_each_processs_median_ratio_to_the_baseline_against_the_goals():
    blocks = [_block((10, 20), (6, 10)), _block((8, 16), (4, 12)), _block((12, 12), (6, 12))]
    summary = paired_summary(blocks, "baseline", "ours")
    # worker ratios 0.6, 0.5, 0.5; server 0.5, 0.75, 1.0
    assert summary["worker"]["ratio"] == 0.5
    assert (summary["worker"]["min"], summary["worker"]["max"]) == (0.5, 0.6)
    assert summary["secantus"]["ratio"] == 0.75
    assert (summary["worker"]["base_ms"], summary["worker"]["ours_ms"]) == (10, 6)
    # the issue's goals (4.0 of 9.0 ms, 9.0 of 18.4 ms) as ratios
    assert round(summary["worker"]["goal"], 3) == 0.444
    assert round(summary["secantus"]["goal"], 3) == 0.489
    assert paired_line(summary, "abc1234") == (
        "paired check-in 201 vs abc1234: worker 0.50x (10.0 -> 6.0 ms), "
        "server 0.75x (16.0 -> 12.0 ms)"
    )


def test_baseline_alone_means_the_issues_baseline_and_paired_runs_have_their_own_size():
    assert parse_args([]).baseline is None
    paired = parse_args(["--baseline"])
    assert paired.baseline == BASELINE
    assert paired.requests == PAIRED_REQUESTS
    assert parse_args(["--baseline", "HEAD~3", "--requests", "10"]).baseline == "HEAD~3"
    assert parse_args(["--baseline", "HEAD~3", "--requests", "10"]).requests == 10
