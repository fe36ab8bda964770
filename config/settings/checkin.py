"""Check-in at the door (sessions_app, door_app)."""

from config.env import env

# Seconds a session/participant detail and the stats stay cached (writes also invalidate them).
CHECKIN_DETAIL_CACHE_TTL = env.int("CHECKIN_DETAIL_CACHE_TTL", default=10)
CHECKIN_STATS_CACHE_TTL = env.int("CHECKIN_STATS_CACHE_TTL", default=5)
# Lifetime of a session's Redis admission set after its last write (reseeded when missing).
CHECKIN_ADMISSION_KEY_TTL = env.int("CHECKIN_ADMISSION_KEY_TTL", default=24 * 3600)
# A request that meets another request for the same participant (or a replay of its own nonce)
# still deciding waits this long for it, then answers 409 check_in_in_progress (Retry-After: 1).
CHECKIN_IN_FLIGHT_WAIT_SECONDS = env.float("CHECKIN_IN_FLIGHT_WAIT_SECONDS", default=0.5)
# An admission or check-out in flight for longer than this is presumed dead: the reconcile ends it
# and frees its place, and a replay takes its nonce over. Only liveness depends on it (ending a
# live request is safe, see sessions_app/services/admission_protocol.py); keep it well above the
# longest request.
CHECKIN_STALE_OP_SECONDS = env.float("CHECKIN_STALE_OP_SECONDS", default=60.0)
# A session admits from this long before its start ("doors open") until this long after its end;
# beat then closes it and checks out whoever is still inside (sessions_app/services/closing.py).
DOORS_OPEN_MINUTES = env.float("DOORS_OPEN_MINUTES", default=30.0)
DOORS_CLOSE_GRACE_MINUTES = env.float("DOORS_CLOSE_GRACE_MINUTES", default=15.0)

# How long a process keeps its copy of a session and of a participant for the door (see
# core/process_cache.py for why a stale copy never changes a decision). 0 turns it off.
DOOR_READ_CACHE_SECONDS = env.float("DOOR_READ_CACHE_SECONDS", default=2.0)
# The door page's check-out mode ends after one scan or after this many seconds without one: a
# door left in it would check out everyone arriving.
DOOR_CHECK_OUT_MODE_SECONDS = env.float("DOOR_CHECK_OUT_MODE_SECONDS", default=30.0)
# Failpoints armed in this process (core.failpoints): none here; chaos.settings reads them from
# the environment (the chaos suite's stalled-worker fault).
CHECKIN_FAILPOINTS = ""

# A door (device or user) may undo its own accepted check-in this long after the scan
# (POST /api/sessions/{id}/undo/, the door page's Undo).
UNDO_WINDOW_SECONDS = env.float("UNDO_WINDOW_SECONDS", default=120.0)
# A scan's own time (``scanned_at``, a late scan) is accepted up to this far in the future (clock
# skew) and this far back; outside, the request is a 400 on ``scanned_at``.
SCANNED_AT_MAX_FUTURE_SECONDS = env.float("SCANNED_AT_MAX_FUTURE_SECONDS", default=60.0)
SCANNED_AT_MAX_AGE_HOURS = env.float("SCANNED_AT_MAX_AGE_HOURS", default=24.0)
# The door's own round-trip time (header X-Door-Latency-Ms) is stored up to this bound; a larger
# or malformed value is telemetry lost, never an error.
DOOR_LATENCY_MAX_MS = env.int("DOOR_LATENCY_MAX_MS", default=600_000)

# Leases of places for doors that may go offline (sessions_app/services/leases.py,
# docs/door-protocol.md): a lease gets at most LEASE_MAX_PLACES places and at most
# LEASE_MAX_FRACTION of the session's capacity (the smaller, never more than is free); it lasts
# LEASE_SECONDS from its holder's last lease call; the reconcile gives back the unused places of one
# not renewed LEASE_SETTLE_GRACE_SECONDS after it expired. A sync carries at most
# LEASE_SYNC_MAX_SCANS scans (more: 400).
LEASE_MAX_PLACES = env.int("LEASE_MAX_PLACES", default=5)
LEASE_MAX_FRACTION = env.float("LEASE_MAX_FRACTION", default=0.10)
LEASE_SECONDS = env.float("LEASE_SECONDS", default=600.0)
LEASE_SETTLE_GRACE_SECONDS = env.float("LEASE_SETTLE_GRACE_SECONDS", default=120.0)
LEASE_SYNC_MAX_SCANS = env.int("LEASE_SYNC_MAX_SCANS", default=200)
