"""Local development (`make run`): debug on, a throwaway secret key, local hosts only."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# `make run` on a developer's machine: generate, print and save the first staff password.
BOOTSTRAP_GENERATE_PASSWORD = True
# The API schema and Swagger UI (off by default elsewhere).
API_DOCS_ENABLED = env.bool("API_DOCS_ENABLED", default=True)
# /metrics for a Prometheus on this machine (closed by default elsewhere).
METRICS_ALLOWED_ADDRESSES = env.list("METRICS_ALLOWED_ADDRESSES", default=["127.0.0.1", "::1"])
