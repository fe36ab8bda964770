"""No secrets in the image or the logs: .dockerignore, bootstrap's password, read-only code."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from config.settings import base, dev

ROOT = Path(__file__).resolve().parents[2]


def _dockerignore() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return {line.strip().rstrip("/") for line in lines if line.strip() and line[0] != "#"}


def test_dockerignore_keeps_env_files_and_local_state_out():
    patterns = _dockerignore()
    for needed in (".env", ".env.*", "var", ".venv", ".pytest_cache", "bench-results"):
        assert needed in patterns, f"{needed} would be copied into the image"


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    return [tuple(line.split(None, 1)) for line in lines]


def test_code_in_the_image_is_not_writable_by_the_runtime_user():
    instructions = _instructions()
    users = [i for i, (op, _) in enumerate(instructions) if op == "USER"]
    assert users and instructions[users[-1]][1] == "10001:10001"
    for index, (op, args) in enumerate(instructions):
        if op in ("COPY", "ADD"):
            assert "--chown" not in args and "--chmod" not in args, args  # root owns the code
            assert index < users[-1], "code copied after switching to the runtime user"
        if op == "RUN":
            assert not re.search(r"\bchown\b.*\b(app|10001)\b", args), args
    run_after_copy = [args for op, args in instructions if op == "RUN" and "collectstatic" in args]
    assert run_after_copy and "go-w" in run_after_copy[0]  # no file group- or world-writable


def test_entrypoint_is_not_writable_by_others():
    assert not (ROOT / "deploy/entrypoint.sh").stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)


@pytest.mark.django_db
def test_bootstrap_in_production_prints_no_password_and_creates_no_user(
    settings, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("RUN_DATA_DIR", str(tmp_path))
    settings.BOOTSTRAP_ADMIN_PASSWORD = ""
    settings.BOOTSTRAP_GENERATE_PASSWORD = False  # what production (and every non-dev) has
    call_command("bootstrap", "--no-demo")
    out = capsys.readouterr().out
    assert "password '" not in out
    assert "BOOTSTRAP_ADMIN_PASSWORD" in out  # says how to create one
    assert not get_user_model().objects.filter(username=settings.BOOTSTRAP_ADMIN_USERNAME).exists()
    assert not list(tmp_path.iterdir())


@pytest.mark.django_db
def test_bootstrap_in_development_generates_prints_and_saves_the_password(
    settings, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("RUN_DATA_DIR", str(tmp_path))
    settings.BOOTSTRAP_ADMIN_PASSWORD = ""
    settings.BOOTSTRAP_GENERATE_PASSWORD = True  # config.settings.dev (`make run`)
    call_command("bootstrap", "--no-demo")
    credentials = tmp_path / "admin-credentials.txt"
    password = credentials.read_text().split("password: ")[1].strip()
    assert password in capsys.readouterr().out
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    user = get_user_model().objects.get(username=settings.BOOTSTRAP_ADMIN_USERNAME)
    assert user.check_password(password)


def test_production_settings_do_not_generate_passwords():

    assert base.BOOTSTRAP_GENERATE_PASSWORD is False and dev.BOOTSTRAP_GENERATE_PASSWORD is True
