"""One way to show a time to staff, everywhere: door page, board, admin, exports' file names.

24-hour clock in the event's time zone (``TIME_ZONE``), the zone's abbreviation after it, and
the date in front whenever the moment is not today (a session at "00:00-02:00" may be tomorrow):

    21:26 UTC                       a moment today
    Mon 7 Dec 09:00 UTC             a moment on another day
    21:30-23:45 UTC                 a range within today
    Mon 7 Dec 09:00-10:30 UTC       a range within another day
    Sun 6 Dec 23:00 - Mon 7 Dec 01:00 UTC   a range across midnight
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

_DAY = "%a %-d %b"
_CLOCK = "%H:%M"


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _today(now: dt.datetime | None) -> dt.date:
    return _local(now or timezone.now()).date()


def staff_time(
    moment: dt.datetime | None, *, now: dt.datetime | None = None, seconds: bool = False
) -> str:
    """Return ``moment`` as staff read it: the clock, the date if not today, the zone."""
    if moment is None:
        return "-"
    local = _local(moment)
    clock = local.strftime(_CLOCK + (":%S" if seconds else ""))
    zone = local.strftime("%Z")
    if local.date() != _today(now):
        clock = f"{local.strftime(_DAY)} {clock}"
    return f"{clock} {zone}".strip()


def staff_range(start: dt.datetime, end: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """Return a session's span as staff read it (see the module's examples)."""
    first, last = _local(start), _local(end)
    zone = last.strftime("%Z")
    if first.date() != last.date():
        return (
            f"{first.strftime(_DAY)} {first.strftime(_CLOCK)} \u2013 "
            f"{last.strftime(_DAY)} {last.strftime(_CLOCK)} {zone}".strip()
        )
    day = "" if first.date() == _today(now) else f"{first.strftime(_DAY)} "
    return f"{day}{first.strftime(_CLOCK)}\u2013{last.strftime(_CLOCK)} {zone}".strip()


def file_stamp(moment: dt.datetime) -> str:
    """Return ``moment`` for a file name: ``2026-12-06-2130`` in the event's time zone."""
    return _local(moment).strftime("%Y-%m-%d-%H%M")
