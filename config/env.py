"""The environment every settings module reads (django-environ), and the project's root."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[1]

env = environ.Env()
# Deployments set the environment. A local .env is read only when asked for (as cookiecutter-django
# does): a stray file must not change what a process runs with.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
