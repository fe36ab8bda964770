"""bench.admission_settings: its settings' syntax and its summary (the measuring is a stack's)."""

import pytest

from bench import admission_settings as adm


def test_a_setting_names_its_environment_and_a_bare_name_is_the_defaults():
    assert adm.parse_setting("defaults:") == ("defaults", {})
    assert adm.parse_setting("slow: A=0.3, B=0.05") == ("slow", {"A": "0.3", "B": "0.05"})
    assert [adm.parse_setting(s)[0] for s in adm.DEFAULT_SETTINGS] == [
        "defaults", "codel 0.3/0.05", "6 slots"
    ]  # fmt: skip
    for bad in ("no colon", ":A=1", "x:A", "x:=1"):
        with pytest.raises(ValueError):
            adm.parse_setting(bad)


def test_the_summary_gives_each_round_per_setting_and_rate():
    step = {"unserved": 3, "scans": 960, "p99_ms": 186.2, "served_p99_ms": None}
    lines = adm.summary({"defaults": {80.0: [step, step | {"unserved": 0}]}})
    assert lines == [
        "defaults at 80/s: unserved 3/960, 0/960; p99 186 ms, 186 ms; answered p99 -, -"
    ]
