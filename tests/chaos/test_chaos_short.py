"""The chaos suite's short form, run as a subprocess so it shows (and fails) in pytest's summary.

It starts its own stack (SecantusDB, redis-server, gunicorn, Celery), drives door traffic while
killing/pausing/flushing Redis and restarting gunicorn workers, and checks the invariants in
MongoDB. About two minutes; deselect with ``-m "not chaos"`` for a quick local run.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _check_in_api_present() -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/sessions/")
    except Resolver404:
        return False
    return True


@pytest.mark.chaos
def test_chaos_short_form_holds_every_invariant():
    if not _check_in_api_present():
        pytest.skip("the check-in API (issue 4) is not merged into this branch yet")
    result = subprocess.run(
        [sys.executable, "-m", "chaos", "--short"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    print(output)  # pytest shows it with the failure; the run's logs stay in var/chaos/
    report = output[output.find("=== short form: faults injected") :] if "===" in output else output
    assert result.returncode == 0, f"chaos short form exited {result.returncode}:\n{report[-6000:]}"
