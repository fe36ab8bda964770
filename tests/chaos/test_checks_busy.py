"""The chaos checks take 503 "busy" (overload, MongoDB answering) as an honest answer."""

from chaos.checks import check_no_5xx
from chaos.fault_checks import mongo_fault_stats
from chaos.mongo import Sampler
from tests.chaos.test_checks import MONGO, STALL, _data, _record


def test_a_busy_503_while_mongodb_answered_is_reported_not_failed():
    busy = _record(1, t0=50.0, t1=51.9, status=503, reason="busy")
    crash = _record(2, t0=50.0, t1=50.1, status=500, reason="server_error")
    sampler = Sampler(view=None, clock=lambda: 0.0, samples=3)
    result = check_no_5xx(_data([busy], sampler=sampler))
    assert result.ok and "1 x 503 busy" in result.detail
    assert not check_no_5xx(_data([busy, crash], sampler=sampler)).ok


def test_a_busy_503_during_a_mongodb_pause_is_not_another_5xx():
    busy = _record(1, t0=30.2, t1=32.4, status=503, reason="busy")
    assert mongo_fault_stats(_data([busy], faults=[MONGO]), MONGO)["bad"] == []


def test_a_busy_503_held_on_a_stopped_worker_is_excused():
    """Resumed past its deadline, the request finds MongoDB answering the ping: busy."""
    held = _record(1, t0=10.0, t1=24.1, status=503, reason="busy")
    sampler = Sampler(view=None, clock=lambda: 0.0, samples=3)
    assert check_no_5xx(_data([held], faults=[STALL], sampler=sampler)).ok
