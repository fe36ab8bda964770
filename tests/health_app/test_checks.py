"""The same checks as django-health-check 4.x plugins: its view and `manage.py health_check`."""

import pytest
from django.core.management import call_command


def run_health_check_command(*args):
    """Run `manage.py health_check health-checks --no-http` in-process; return its exit code."""
    with pytest.raises(SystemExit) as exit_info:
        call_command("health_check", "health-checks", "--no-http", *args)
    return exit_info.value.code


def test_library_view_lists_the_project_checks(client):
    response = client.get("/health/checks", headers={"accept": "application/json"})
    assert response.status_code == 200
    assert response.json() == {
        "MongoDB()": "OK",
        "Redis()": "OK",
        "RedisCache()": "OK",
        "CeleryBroker()": "OK",
        "ReconcileFreshness()": "OK",
        "WorkerFreshness()": "OK",
    }
    assert client.get("/health/checks", headers={"accept": "text/html"}).status_code == 200


def test_library_view_warns_but_answers_200_while_redis_is_down(client, redis_server):
    redis_server.kill()
    response = client.get("/health/checks?format=json")
    assert response.status_code == 200
    body = response.json()
    assert body["MongoDB()"] == "OK"
    assert body["Redis()"].startswith("Warning: ")
    assert "127.0.0.1" not in body["Redis()"]
    assert body["RedisCache()"].startswith("Warning: ")


def test_library_view_fails_without_mongodb(client, mongo_down):
    response = client.get("/health/checks?format=json")
    assert response.status_code == 500  # the code django-health-check's command reads as failure
    assert response.json()["MongoDB()"].startswith("Unavailable: ")


def test_command_exits_zero_when_healthy(capsys):
    assert run_health_check_command() == 0
    assert "MongoDB(): OK" in capsys.readouterr().out


def test_command_exits_non_zero_without_mongodb(mongo_down, capsys):
    assert run_health_check_command() == 1
    out = capsys.readouterr().out
    assert "MongoDB(): Unavailable" in out
    assert "127.0.0.1" not in out


def test_command_without_http_is_strict_about_warnings(redis_server):
    """--no-http counts warnings as failures (the library's rule); HTTP mode answers 200."""
    redis_server.kill()
    assert run_health_check_command() == 1
