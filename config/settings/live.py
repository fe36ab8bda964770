"""The live occupancy board (live_app: WebSockets on the ASGI server, the board at /board/)."""

from config.env import env

# Redis pub/sub channel the door publishes "session changed" on (pub/sub ignores the database
# number: give each deployment sharing a Redis its own channel).
LIVE_REDIS_CHANNEL = env("LIVE_REDIS_CHANNEL", default="checkin:live")
# Both modes: a full read of the open sessions this often (a lost notification only delays).
# A setting, not an environment variable: a test lengthens it (config/settings/test.py). The
# hub's other timings are constants in live_app/hub.py.
LIVE_FULL_SYNC_SECONDS = 5.0
# Where the board's browser opens its WebSocket: empty = the page's own host (a proxy sends /ws/
# to the ASGI server); e.g. "ws://127.0.0.1:8001" when the ASGI server has its own port.
LIVE_WEBSOCKET_URL = env("LIVE_WEBSOCKET_URL", default="")
