"""MongoDB: the connection, the per-request deadline, fail-fast and admission control."""

from config.env import env

MONGODB_URI = env("MONGODB_URI", default="mongodb://127.0.0.1:27017/")
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
WEB_ADMISSION_WAIT_SECONDS = env.float("WEB_ADMISSION_WAIT_SECONDS", default=0.25)
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
            # A write is acknowledged only once it is in the journal: an acknowledged check-in
            # must survive a crash of the server (invariant 2). Measured on the stand-in, kill -9
            # right after 200 acknowledged inserts: 192 survived without, 200 with it (+0.7 ms
            # per write). A replica set's w="majority" journals too on real MongoDB.
            "journal": env.bool("MONGODB_JOURNAL", default=True),
            "appname": "checkin",
        },
    },
}
