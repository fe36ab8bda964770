"""The compose file defines the whole stack, each service with a healthcheck (read, not run: the
run is tests/deploy/test_compose_contract.py)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_defines_the_stack_with_healthchecks():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"mongo", "redis", "web", "worker", "beat"}
    for name in ("mongo", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], name
    assert "--replSet" in services["mongo"]["command"]
    assert services["mongo"]["image"] == "mongo:7"
    assert services["redis"]["image"] == "redis:7"
