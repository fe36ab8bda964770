"""Production trusts ``X-Forwarded-Proto`` only when a proxy is declared in front (TRUSTED_PROXY).

Run in a child process with the production settings (they are read once per process): a client
that sends ``X-Forwarded-Proto: https`` itself must not skip the HTTPS redirect.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools.servers import free_port

pytestmark = pytest.mark.slow  # real processes (child interpreters and a server)

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client

response = Client().get("/api/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="localhost")
print(json.dumps({"status": response.status_code, "location": response.get("Location", ""),
                  "header": settings.SECURE_PROXY_SSL_HEADER}))
"""


def _production_get_with_forwarded_https(**extra_env: str) -> dict:
    env = dict(os.environ)
    env.pop("TRUSTED_PROXY", None)
    env.pop("SECURE_SSL_REDIRECT", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="test-proxy-header-only",
        ALLOWED_HOSTS="localhost",
        # Nothing listens there: the redirect must not need either server.
        MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}/",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        **extra_env,
    )
    result = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_client_claiming_https_is_still_redirected_without_a_trusted_proxy():
    answer = _production_get_with_forwarded_https()
    assert answer["status"] == 301, answer
    assert answer["location"].startswith("https://"), answer
    assert answer["header"] is None


def test_behind_a_declared_proxy_its_https_header_is_trusted():
    answer = _production_get_with_forwarded_https(TRUSTED_PROXY="true")
    assert answer["status"] != 301, answer  # the proxy said https: no redirect
    assert answer["header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_compose_does_not_publish_gunicorn_to_every_interface():
    """No proxy service in the compose file: web and live are published on the host's loopback
    only, for a TLS proxy on the host, never straight to the network."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("web", "live"):
        for mapping in services[name].get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), (name, mapping)
        # Trusted only if the operator says a proxy is there.
        assert services[name]["environment"]["TRUSTED_PROXY"] == "${TRUSTED_PROXY:-false}", name
