"""The capacity model reads make bench's results and does its arithmetic on them, nothing typed in."""

import json

from bench import capacity_model


def _stat(value):
    return {"median": value, "min": value, "max": value}


def _results() -> dict:
    """A results file in make bench's shape, with round numbers."""
    return {
        "started": "2026-01-01T00:00:00",
        "machine": {"nproc": 2, "cpu": "test"},
        "round_trips": [
            {
                "kind": capacity_model.CHECK_IN,
                "mongo": _stat(7),
                "redis": _stat(8),
                "redis_trips": _stat(3),
                "mongo_commands": {"aggregate": 2, "insert": 2, "update": 2, "find": 1},
            },
            {"kind": capacity_model.DUPLICATE, "mongo": _stat(2)},
            {"kind": capacity_model.CHECK_OUT, "mongo": _stat(6)},
        ],
        "cpu_split": {
            "rows": [
                {
                    "kind": "check_in",
                    "wall_ms": _stat(30.0),
                    "cpu_ms": {"worker": _stat(10.0), "secantus": _stat(20.0)},
                }
            ]
        },
        "hot_document": {"stand_in": True, "rows": [{"clients": 1, "per_s": _stat(400.0)}]},
    }


def test_keynote_load_is_the_rate_times_what_one_admission_costs(tmp_path, capsys):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(_results()))
    assert capacity_model.main([str(path)]) == 0
    out = capsys.readouterr().out
    # 10,000 in 15 minutes: 11.1 admissions/s, each 4 writes (2 insert + 2 update): 44.4 writes/s.
    keynote = next(e for e in capacity_model.EVENTS if e.name == "keynote, average")
    load = capacity_model.event_load(keynote, capacity_model.inputs_from(_results()))
    assert round(load["mongo_writes_per_s"], 2) == 44.44
    assert "| keynote, average (10,000 in 15 min, evenly) | 11 | 44 | 33 | 11 |" in out
    # 200 doors, a scan every 2 s: 100/s; 30 ms each at 50% load: 6 sync workers.
    assert "| 50,000 people, 200 doors (200 doors x one scan every 2 s) | 100 | 400 |" in out
    assert "| 2.0 | 6 | 200 |" in out
    assert "One session document took 400 conditional increments/s on the stand-in" in out


def test_missing_results_say_so_and_exit_non_zero(tmp_path, capsys):
    assert capacity_model.main([str(tmp_path / "absent.json")]) == 2
    assert "no benchmark results at" in capsys.readouterr().err
    partial = _results()
    del partial["hot_document"]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(partial))
    assert capacity_model.main([str(path)]) == 2
    assert "has no 'hot_document' section" in capsys.readouterr().err
