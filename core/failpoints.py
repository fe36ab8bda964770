"""Failpoints: named places in the door's code paths where a test or the chaos suite can stall.

The capacity invariant must hold whatever happens *between* two writes, so the services mark each
such gap with ``failpoint("<name>")``. Unarmed (always, in production) a failpoint is one dict
lookup. Armed, it runs an action in the calling thread:

- tests arm a Python callable (``armed(name, action)``), e.g. one that blocks until the test
  releases it, to build an interleaving step by step;
- the chaos suite arms processes through the ``CHECKIN_FAILPOINTS`` setting, e.g.
  ``check_in.after_increment=sigstop:0.05`` makes a web worker SIGSTOP itself in 5 % of the
  check-ins that reach that point (the driver resumes it later), a real stall at the worst moment.

Names in use (keep them stable: chaos and tests refer to them):
``check_in.after_precheck`` (after Redis's answer, before the claim),
``check_in.after_claim``, ``check_in.after_increment``, ``check_in.after_admit``,
``check_out.after_read`` (between a check-out's read of the record and its flip),
``check_out.after_record``, ``check_out.after_decrement``, ``undo.after_check`` (an undo, before
it claims its nonce), ``undo.after_claim`` (after), ``reconcile.after_session_read``,
``reconcile.after_observe``, ``lease.grant_after_read``, ``lease.after_grant``, ``lease.after_claim``,
``lease.after_transfer``, ``lease.after_admit`` (a lease's grant, and an offline scan's steps in a
sync), ``lease.settle_after_read`` (the reconcile settling an expired lease),
``scans.finish``, ``scans.release`` (a scan log write that records a verdict on its
nonce's entry, or drops an undecided one: a test makes it fail as a request deadline would),
``admission_sync.after_read`` (a Redis rebuild, between its
read of the holders and its write), ``participant_import.after_batch`` (the import job, after each
batch it applied and recorded).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import time
from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)

Action = Callable[[str], None]

_armed: dict[str, Action] = {}


def failpoint(name: str) -> None:
    """Run the action armed at ``name``, if any."""
    action = _armed.get(name)
    if action is not None:
        action(name)


def arm(name: str, action: Action) -> None:
    """Arm ``name`` with ``action`` (replacing any earlier one)."""
    _armed[name] = action


def disarm(name: str) -> None:
    """Disarm ``name`` (no error if it was not armed)."""
    _armed.pop(name, None)


@contextlib.contextmanager
def armed(name: str, action: Action) -> Iterator[None]:
    """Arm ``name`` for the duration of the block."""
    arm(name, action)
    try:
        yield
    finally:
        disarm(name)


def _sigstop(probability: float) -> Action:
    def action(name: str) -> None:
        if random.random() < probability:
            logger.warning("failpoint %s: stopping process %d (SIGSTOP)", name, os.getpid())
            os.kill(os.getpid(), signal.SIGSTOP)

    return action


def _sleep(seconds: float) -> Action:
    def action(name: str) -> None:
        time.sleep(seconds)

    return action


_SPEC_ACTIONS: dict[str, Callable[[float], Action]] = {"sigstop": _sigstop, "sleep": _sleep}


def arm_from_spec(spec: str) -> list[str]:
    """Arm failpoints from ``name=action:arg,...`` (``sigstop:<probability>``, ``sleep:<s>``).

    Return the names armed. Raise ``ValueError`` for a malformed entry: a typo must not silently
    leave a chaos run without its fault.
    """
    names = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        try:
            name, rest = entry.split("=", 1)
            kind, arg = rest.split(":", 1)
            action = _SPEC_ACTIONS[kind](float(arg))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"malformed failpoint spec {entry!r}") from exc
        arm(name.strip(), action)
        names.append(name.strip())
    return names
