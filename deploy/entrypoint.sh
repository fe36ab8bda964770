#!/bin/sh
# Container entrypoint. With RUN_SETUP=1 (the web service in docker-compose.yml), apply migrations
# and run the idempotent bootstrap before starting; worker and beat start directly.
set -eu

if [ "${RUN_SETUP:-0}" = "1" ]; then
    python manage.py migrate --noinput
    python manage.py bootstrap --no-demo
fi

exec "$@"
