"""Writes of the sessions app (house style: ``<entity>_<action>``, keyword-only arguments)."""

from .admission_sync import session_admission_sync, sessions_admission_reseed_all
from .check_in import session_check_in
from .check_out import session_check_out
from .closing import CloseSummary, sessions_close_ended
from .demo import session_create_demo_data
from .reconcile import ReconcileSummary, counters_reconcile
from .sessions import session_create, session_delete, session_update
from .undo import session_scan_undo

__all__ = [
    "CloseSummary",
    "ReconcileSummary",
    "counters_reconcile",
    "session_admission_sync",
    "session_check_in",
    "session_check_out",
    "session_create",
    "session_create_demo_data",
    "session_delete",
    "session_scan_undo",
    "session_update",
    "sessions_admission_reseed_all",
    "sessions_close_ended",
]
