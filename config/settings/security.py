"""Sign-in: authentication backends, the lockout (django-axes), API tokens, passwords."""

from datetime import timedelta

from config.env import env

# django-axes first (refuses locked-out sign-ins), then ModelBackend with a permission query that
# is right on MongoDB (see accounts/backends.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.MongoModelBackend",
]
# Sign-in lockout (accounts/lockout.py; django-axes, attempts stored in MongoDB: it holds while
# Redis is down, and in every process). Every lock is a delay that starts at
# AUTH_LOCKOUT_FIRST_DELAY_SECONDS, doubles with each further counted failure and is capped at
# AUTH_LOCKOUT_MAX_DELAY_SECONDS; a sign-in refused during it is not checked and not counted, so
# it cannot be stretched. Three counts, each locking only what it counts:
# - a user name at one address: AUTH_LOCKOUT_FAILURES failures;
# - a user name everywhere: failures from AUTH_LOCKOUT_NAME_ADDRESSES different addresses;
# - an address, across user names: AUTH_LOCKOUT_ADDRESS_FAILURES (a venue's doors share one).
# Failures are forgotten AUTH_LOCKOUT_MINUTES after the last one; a success clears its own user
# name's failures at its own address only. Staff unlock earlier in the admin ("Access attempts").
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = env.int("AUTH_LOCKOUT_FAILURES", default=5)
AUTH_LOCKOUT_NAME_ADDRESSES = env.int("AUTH_LOCKOUT_NAME_ADDRESSES", default=10)
AUTH_LOCKOUT_ADDRESS_FAILURES = env.int("AUTH_LOCKOUT_ADDRESS_FAILURES", default=100)
AUTH_LOCKOUT_FIRST_DELAY_SECONDS = env.float("AUTH_LOCKOUT_FIRST_DELAY_SECONDS", default=1.0)
AUTH_LOCKOUT_MAX_DELAY_SECONDS = env.float("AUTH_LOCKOUT_MAX_DELAY_SECONDS", default=60.0)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AUTH_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # what a success clears (the others: above)
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a refused sign-in does not lengthen a lock
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
# Proxies in front of gunicorn that append to X-Forwarded-For (0: the peer address is the client).
AUTH_LOCKOUT_PROXY_COUNT = env.int("AUTH_LOCKOUT_PROXY_COUNT", default=0)
AXES_VERBOSE = False
# API tokens (accounts/authentication.py) expire this long after they were issued (one door shift);
# signing in again afterwards issues a new key. A password change or a deactivation revokes every
# token of the user at once.
API_TOKEN_LIFETIME_HOURS = env.float("API_TOKEN_LIFETIME_HOURS", default=12.0)
# How long a process keeps its copy of an API token and its user (with the user's permissions):
# a deleted token, a deactivated user or changed permissions take effect at once in the process
# that saved the change, and within this many seconds in the others. 0 turns the copy off.
API_TOKEN_CACHE_SECONDS = env.float("API_TOKEN_CACHE_SECONDS", default=5.0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
