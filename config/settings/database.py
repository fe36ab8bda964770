"""MongoDB: the connection, the per-request deadline, fail-fast and admission control."""

from django.core.exceptions import ImproperlyConfigured
from pymongo.uri_parser import split_options

from config.env import env

MONGODB_URI = env("MONGODB_URI", default="mongodb://127.0.0.1:27017/")
# What every acknowledged write and every read the door decides on needs from a replica set
# (docs/operations.md, "MongoDB as a replica set"): a check-in answered 2xx is in the journal of
# a majority of the members, so an election cannot roll it back; reads see the primary's writes;
# a write whose primary stepped down mid-flight is retried once by pymongo on the new primary.
# Passed to pymongo as keyword arguments, which win over the same options in the URI.
MONGODB_DURABILITY = {"w": "majority", "journal": True, "readPreference": "primary", "retryWrites": True}  # fmt: skip
_DURABILITY_IN_URI = {"w": "majority", "journal": "true", "readpreference": "primary", "retrywrites": "true"}  # fmt: skip


def _uri_weakenings(uri: str) -> list[str]:
    """Name each option of ``uri`` that asks for less than ``MONGODB_DURABILITY``.

    A URI that repeats the required values is fine; one that asks for less is refused rather than
    silently overridden: the operator wrote it meaning it, and other tools reading the same URI
    would behave as it says. Only these options' values are named: they hold no secret.
    """
    query = uri.partition("?")[2]
    options = split_options(query, validate=False) if query else {}
    weaker = [
        f"{name}={options[name]} (needs {required})"
        for name, required in _DURABILITY_IN_URI.items()
        if name in options and str(options[name]).lower() != required
    ]
    weaker += [f"{name} (only for reads from secondaries)" for name in ("readpreferencetags", "maxstalenessseconds") if name in options]  # fmt: skip
    return weaker


if _weaker := _uri_weakenings(MONGODB_URI):
    raise ImproperlyConfigured(
        "MONGODB_URI weakens what an acknowledged check-in needs: "
        + "; ".join(_weaker)
        + ". Remove these options from the URI (the settings set w=majority, journal=true,"
        " readPreference=primary and retryWrites=true); see docs/operations.md."
    )
MONGODB_NAME = env("MONGODB_NAME", default="checkin")
# Short server-selection and socket timeouts: a hung MongoDB must not hang a request for 30 s.
MONGODB_TIMEOUT_MS = env.int("MONGODB_TIMEOUT_MS", default=3000)
# One deadline for all MongoDB work of one web request (pymongo's client-side operation timeout,
# core/middleware.py): a hung MongoDB answers a door scanner 503 in about this long. Jobs outside
# requests keep the client timeouts above. 0 switches it off; the admin (bulk actions) is exempt.
# pymongo's server selection checks the deadline every 0.5 s, so a request may take up to 0.5 s
# past it: 1.4 s keeps the worst case (1.9 s) within the door's "about 2 s".
MONGODB_REQUEST_TIMEOUT_SECONDS = env.float("MONGODB_REQUEST_TIMEOUT_SECONDS", default=1.4)
# The import preview reads the whole file's matches (seconds on the stand-in for a large file).
MONGODB_REQUEST_TIMEOUT_EXEMPT = ["/admin/", "/api/participants/import/"]
# After MongoDB failed a request, a web process answers 503 at once for this long (then the next
# request pings MongoDB briefly first), so requests do not queue behind each other's deadlines.
MONGODB_FAIL_FAST_SECONDS = env.float("MONGODB_FAIL_FAST_SECONDS", default=2.0)
# Admission control per web process (core/middleware.py): at most this many writes under
# WEB_ADMISSION_PATHS at once; one that finds no free slot within WEB_ADMISSION_WAIT_SECONDS is
# answered 503 "busy" at once instead of queueing for MongoDB past its deadline. 0: no limit.
WEB_MAX_CONCURRENT_REQUESTS = env.int("WEB_MAX_CONCURRENT_REQUESTS", default=4)
# 0.1 s: a burst's wait; with the deadline (1.4 s) and server selection (0.5 s) a scan's worst
# case stays 2.0 s.
WEB_ADMISSION_WAIT_SECONDS = env.float("WEB_ADMISSION_WAIT_SECONDS", default=0.1)
# Controlled delay: once writes have been waiting for a slot without a break for this long (the
# queue never emptied), a newcomer waits only WEB_ADMISSION_QUEUE_TARGET_SECONDS before "busy".
# A burst waits; sustained overload is shed at once, so the answered scans stay fast.
WEB_ADMISSION_QUEUE_INTERVAL_SECONDS = env.float(
    "WEB_ADMISSION_QUEUE_INTERVAL_SECONDS", default=0.1
)
WEB_ADMISSION_QUEUE_TARGET_SECONDS = env.float("WEB_ADMISSION_QUEUE_TARGET_SECONDS", default=0.005)
WEB_ADMISSION_PATHS = ["/api/", "/door/"]
DATABASES = {
    "default": {
        # django-mongodb-backend with joined fields in dot notation (the stand-in misreads the
        # nested form: select_related lost the related row; see core/mongo_backend/__init__.py).
        "ENGINE": "core.mongo_backend",
        "HOST": MONGODB_URI,
        "NAME": MONGODB_NAME,
        "OPTIONS": {
            "serverSelectionTimeoutMS": MONGODB_TIMEOUT_MS,
            "connectTimeoutMS": MONGODB_TIMEOUT_MS,
            "socketTimeoutMS": env.int("MONGODB_SOCKET_TIMEOUT_MS", default=10000),
            # A write is acknowledged only once it is in the journal of a majority: an
            # acknowledged check-in must survive a crash of the server and an election (invariant
            # 2). Measured on the stand-in, kill -9 right after 200 acknowledged inserts: 192
            # survived without journaling, 200 with it (+0.7 ms per write).
            **MONGODB_DURABILITY,
            "appname": "checkin",
        },
    },
}
