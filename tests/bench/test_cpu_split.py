"""bench.cpu_split's command line and its last line (the check-in's split), without a stack."""

from bench.cpu_split import check_in_line, parse_args, summarize


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
