"""Production: every secret from the environment, no defaults; HTTPS hardening on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # no default: a missing key must stop the process
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost"])

# HTTPS is terminated by a proxy or load balancer in front of gunicorn. Its X-Forwarded-Proto is
# believed only when TRUSTED_PROXY says one is there (and gunicorn is reachable only through it):
# otherwise any client could send "X-Forwarded-Proto: https" itself and skip the redirect.
TRUSTED_PROXY = env.bool("TRUSTED_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers poll health over plain HTTP inside the network: never redirect those.
SECURE_REDIRECT_EXEMPT = [r"^health(/.*)?$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
