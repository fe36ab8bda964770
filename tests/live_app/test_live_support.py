"""The live tests' ordering check can fail: fed a stream out of order, it says so (pure, no servers)."""

import pytest

from tests.live_support import LiveView, version_regressions


def _state(session_id: str, version: int, count: int = 0) -> dict:
    return {"id": session_id, "status": "open", "version": version, "check_in_count": count}


def _session(session_id: str, version: int) -> dict:
    return {"type": "session", "session": _state(session_id, version)}


def test_a_stale_change_sent_after_a_newer_one_fails_the_check():
    view = LiveView(ws=None)
    view.handle({"type": "snapshot", "sessions": [_state("a", 1)]})
    view.handle(_session("a", 3))
    view.handle(_session("a", 2))  # older than one sent before: the client drops it, but it came
    assert view.sessions["a"]["version"] == 3  # what the client kept looks fine ...
    with pytest.raises(AssertionError, match="session a v2 after v3"):
        view.assert_versions_never_decrease()  # ... what it received does not


def test_a_repeated_change_fails_the_check_but_a_resync_may_repeat_a_version():
    assert version_regressions([("session", "a", 4), ("session", "a", 4)]) == [
        "session a v4 after v4"
    ]
    assert version_regressions([("session", "a", 4), ("snapshot", "a", 4)]) == []
    assert version_regressions([("snapshot", "a", 5), ("snapshot", "a", 4)]) == [
        "snapshot a v4 after v5"
    ]


def test_sessions_are_checked_each_on_its_own():
    received = [("session", "a", 7), ("session", "b", 1), ("session", "a", 8), ("session", "b", 2)]
    assert version_regressions(received) == []


def test_a_view_that_received_nothing_fails_the_check():
    with pytest.raises(AssertionError, match="no state received"):
        LiveView(ws=None).assert_versions_never_decrease()
