"""The compose file and the Dockerfile, run without a Docker engine: each service's command with
that service's environment (production settings, no .env), then its healthcheck exactly as
written, and the Dockerfile's HEALTHCHECK against the web service.

How, without Docker: ``compose_driver.py`` runs in private user, network and mount namespaces
(``unshare -rnm``), so the ports the files name (27017, 6379, 8000) are free and the service host
names resolve to that private loopback; each application service is PID 1 of its own PID
namespace, and its healthcheck runs in there with its environment. The image is stood in for by
this checkout's files that .dockerignore lets into the build context, and this virtualenv.
What cannot run here, said plainly: ``mongod`` and ``mongosh`` (no MongoDB installs): the mongo
service is the SecantusDB stand-in serving the same replica set (``rs0`` at ``mongo:27017``), and
its healthcheck is replaced by the same question asked with pymongo (is it the writable primary).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from devtools.servers import redis_server_binary

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("compose_driver.py")
SECRET_KEY = "compose-contract-test-key-" + "x" * 40
APP_SERVICES = ("web", "live", "worker", "beat")  # web first: its entrypoint migrates, bootstraps
# The "ha" profile: Redis's replica and three Sentinels, then a second app node.
HA_DATA_SERVICES = ("redis-replica", "sentinel-1", "sentinel-2", "sentinel-3")
HA_APP_SERVICES = ("web-b", "live-b", "worker-b")
HA_REDIS_URL = "redis+sentinel://sentinel-1:26379,sentinel-2:26380,sentinel-3:26381/mymaster/0"
MAX_WAIT = 40  # seconds one service may take to turn healthy here (bounds the test)

pytestmark = pytest.mark.compose


def interpolate(value, env: dict[str, str]):
    """Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, $$."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        if op == ":?" and not env.get(name):
            raise AssertionError(f"compose requires {name}: {arg}")
        if op == ":-" and not env.get(name):
            return arg
        return env.get(name, "")

    pattern = r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}"
    if isinstance(value, str):
        return re.sub(pattern, one, value)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def _seconds(text) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", str(text))
    assert match, text
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[match.group(2)]


def compose_healthcheck(check: dict) -> dict:
    test = check["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    return {
        "test": test,
        "timeout": _seconds(check.get("timeout", "30s")),
        "interval": _seconds(check.get("interval", "30s")),
        "retries": int(check.get("retries", 3)),
        "start_period": _seconds(check.get("start_period", "0s")),
    }


def dockerfile() -> dict:
    """Return ENV, WORKDIR, ENTRYPOINT, CMD and HEALTHCHECK of the final stage."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict = {"env": {}}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        op, _, args = line.partition(" ")
        if op == "ENV":
            found["env"].update(item.split("=", 1) for item in shlex.split(args))
        elif op in ("ENTRYPOINT", "CMD"):
            found[op.lower()] = json.loads(args)
        elif op == "WORKDIR":
            found["workdir"] = args.strip()
        elif op == "HEALTHCHECK":
            options = dict(re.findall(r"--([\w-]+)=(\S+)", args))
            command = json.loads(args[args.index("CMD") + 3 :])
            found["healthcheck"] = {
                "test": ["CMD", *command],
                "timeout": _seconds(options.get("timeout", "30s")),
                "interval": _seconds(options.get("interval", "30s")),
                "retries": int(options.get("retries", 3)),
                "start_period": _seconds(options.get("start-period", "0s")),
            }
    return found


def build_context(target: Path) -> Path:
    """Copy the files .dockerignore lets into the build context (tracked files only)."""
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for pattern in patterns:
            bare = pattern.removeprefix("**/")
            if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, bare) for p in prefixes):
                return True
            if any(fnmatch.fnmatch(part, bare) for part in parts) and pattern.startswith("**/"):
                return True
        return False

    for path in files:
        if not ignored(path) and (ROOT / path).is_file():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, target / path)
    return target


def _unshare_works() -> bool:
    done = subprocess.run(["unshare", "-rnm", "true"], capture_output=True, check=False)
    return done.returncode == 0


def test_compose_services_and_image_healthchecks_pass(tmp_path):
    results, logs = _run_compose(tmp_path, {"SECRET_KEY": SECRET_KEY})
    assert set(results) == {"mongo", "redis", *APP_SERVICES}  # no service of a profile
    # Production prints nothing secret: no generated password in the web container's log.
    assert "password '" not in logs["web"] and SECRET_KEY not in "".join(logs.values())


def test_compose_ha_profile_two_nodes_on_sentinel_pass(tmp_path):
    """``REDIS_URL=<the Sentinel URL> docker compose --profile ha up``: Redis (the first master),
    its replica, three Sentinels, both app nodes on the Sentinels; each healthcheck passes, and
    the Sentinels agree on the master and know the replica and each other."""
    env = {"SECRET_KEY": SECRET_KEY, "REDIS_URL": HA_REDIS_URL}
    results, logs = _run_compose(tmp_path, env, profile="ha")
    assert set(results) >= {*HA_DATA_SERVICES, *HA_APP_SERVICES}
    assert SECRET_KEY not in "".join(logs.values())
    quorum = results["sentinel-3"][-1]
    assert quorum["check"] == "quorum" and "OK 3 usable Sentinels" in quorum["output"], quorum


def _run_compose(tmp_path: Path, operator_env: dict[str, str], *, profile: str | None = None):
    """Run the services of the default set (and of ``profile``) as compose would; return each
    service's check results and the services' logs. ``operator_env``: what an operator provides
    (nothing else, no .env)."""
    assert _unshare_works(), "unshare -rnm (user namespaces) is needed to run the stack privately"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    compose = interpolate(compose, operator_env)
    compose["services"] = {
        name: service
        for name, service in compose["services"].items()
        if not service.get("profiles") or profile in service["profiles"]
    }
    image = dockerfile()
    context = build_context(tmp_path / "context")
    assert not (context / ".env").exists()
    venv_bin = str(Path(sys.executable).parent)

    base_env = {
        "PATH": f"{venv_bin}:{Path(redis_server_binary()).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "HOSTNAME": socket.gethostname(),  # Docker sets it to the container's host name
        **image["env"],
        # The compose stack's shared metrics volume, here a directory of this test's own (the
        # image's path, /tmp/checkin-metrics, would be the host's /tmp outside a container).
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    services: dict = {}
    for name, service in compose["services"].items():
        env = {**base_env, **{k: str(v) for k, v in (service.get("environment") or {}).items()}}
        argv = list(service.get("command") or image["cmd"])
        app = name in APP_SERVICES or name in HA_APP_SERVICES
        if app:
            argv = [*image["entrypoint"], *argv]
        services[name] = {
            "argv": argv,
            "env": env,
            "healthcheck": compose_healthcheck(service["healthcheck"]),
            "own_pids": app,
        }
    mongo = services["mongo"]
    assert "rs0" in str(compose["services"]["mongo"]["healthcheck"]["test"])
    mongo["set_name"] = "rs0"
    mongo["healthcheck"] = {  # mongosh is not installable here: the same question via pymongo
        **mongo["healthcheck"],
        "test": [
            "CMD",
            sys.executable,
            "-c",
            "import sys; from pymongo import MongoClient; "
            "c = MongoClient('mongodb://mongo:27017/?replicaSet=rs0', serverSelectionTimeoutMS=3000);"
            " sys.exit(0 if c.admin.command('hello')['isWritablePrimary'] else 1)",
        ],
    }
    services["web"]["extra_checks"] = {"Dockerfile HEALTHCHECK": image["healthcheck"]}
    data_services, app_services, final_checks = ["redis"], list(APP_SERVICES), []
    if profile == "ha":
        data_services += HA_DATA_SERVICES
        app_services += HA_APP_SERVICES
        # Once the last Sentinel is up, the three must agree on the master and authorise a
        # failover (asked after the app nodes are healthy: the Sentinels have met by then).
        quorum = ["CMD", "redis-cli", "-p", "26381", "sentinel", "ckquorum", "mymaster"]
        final_checks = [
            ["sentinel-3", "quorum", {**services["sentinel-3"]["healthcheck"], "test": quorum}]
        ]
    plan = {
        "work": str(tmp_path),
        "workdir": str(context),
        "python": sys.executable,
        "services": services,
        "data_services": data_services,
        "app_services": app_services,
        "final_checks": final_checks,
        "max_wait": MAX_WAIT,
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    start = time.monotonic()
    done = subprocess.run(
        ["unshare", "-rnm", sys.executable, str(DRIVER), str(tmp_path / "plan.json")],
        capture_output=True,
        text=True,
        timeout=(8 if profile else 4) * MAX_WAIT,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        check=False,
    )
    elapsed = time.monotonic() - start
    logs = {p.stem: p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log")}
    assert done.returncode == 0, (done.stdout, done.stderr, logs)
    results = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {
        name: ["healthcheck", *service.get("extra_checks", {})]
        for name, service in services.items()
    }
    for name, label, _check in final_checks:
        expected[name].append(label)
    report = {name: [(r["check"], r["exit"]) for r in runs] for name, runs in results.items()}
    assert report == {
        name: [(label, 0) for label in labels] for name, labels in expected.items()
    }, (report, results, logs)
    times = {name: [r["at"] for r in runs] for name, runs in results.items()}
    print(f"compose contract ({profile or 'default'}): {elapsed:.1f} s; healthy at: {times}")
    return results, logs
