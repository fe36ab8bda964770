"""Run the compose stack's services on this machine, inside a private network namespace.

Started by tests/deploy/test_compose_contract.py as ``unshare -rnm python compose_driver.py
PLAN``: a user, network and mount namespace of its own, so the services bind the ports the compose
file names (27017, 6379, 8000) on a loopback no one else uses, and the service host names
(``mongo``, ``redis``) resolve to that loopback through a private /etc/hosts. Each application
service runs in a PID namespace of its own (its command is PID 1, as in a container) and its
healthcheck runs inside that namespace with the service's environment, like ``docker exec``.
Prints one JSON object: per service, each healthcheck's exit code and output.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# The mongo service is MongoDB 7 initiated as the one-node replica set "rs0" whose member is
# mongo:27017; no mongod installs here, so the stand-in plays it with that set name.
MONGO_STAND_IN = """
import sys, signal
from secantus.server import SecantusDBServer
server = SecantusDBServer(host="mongo", port=27017, storage_path=sys.argv[1],
                          replica_set_name=sys.argv[2])
signal.signal(signal.SIGTERM, lambda *a: (server.stop(), sys.exit(0)))
server.start()
server.wait()
"""


def _wait_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _child_pid(pid: int) -> int:
    """Return the PID (outside) of the process ``unshare --fork`` started: the service's PID 1."""
    for _ in range(100):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.02)
    raise RuntimeError("the service did not start")


class Stack:
    def __init__(self, plan: dict) -> None:
        self.plan = plan
        self.work = Path(plan["work"])
        self.procs: dict[str, subprocess.Popen] = {}
        self.results: dict[str, list[dict]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str], *, own_pids: bool) -> None:
        log = open(self.work / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        prefix = ["unshare", "--pid", "--fork", "--kill-child"] if own_pids else []
        self.procs[name] = subprocess.Popen(
            prefix + argv,
            env=env,
            cwd=self.plan["workdir"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def healthcheck(self, name: str, check: dict, env: dict[str, str], *, label: str) -> bool:
        """Run ``check`` (CMD or CMD-SHELL, as written) inside the service, like Docker does."""
        test = check["test"]
        argv = test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]
        proc = self.procs.get(name)
        if proc is not None and self.plan["services"][name].get("own_pids"):
            argv = ["nsenter", "-t", str(_child_pid(proc.pid)), "-p", "--", *argv]
        try:
            done = subprocess.run(
                argv,
                env=env,
                cwd=self.plan["workdir"],
                capture_output=True,
                timeout=check["timeout"],
                check=False,
            )
            code, output = done.returncode, (done.stdout + done.stderr).decode()[-2000:]
        except subprocess.TimeoutExpired:
            code, output = -1, f"no answer within {check['timeout']} s"
        self.results.setdefault(name, []).append(
            {"check": label, "exit": code, "output": output, "at": round(time.monotonic(), 1)}
        )
        return code == 0

    def until_healthy(self, name: str, check: dict, env: dict[str, str], *, label: str) -> bool:
        """Retry like Docker during the start period (bounded), then report the last result."""
        deadline = time.monotonic() + check["start_period"] + check["retries"] * check["interval"]
        deadline = min(deadline, time.monotonic() + self.plan["max_wait"])
        while True:
            proc = self.procs.get(name)
            if self.healthcheck(name, check, env, label=label):
                return True
            if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                return False
            self.results[name].pop()  # only the final attempt is reported
            time.sleep(1)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main(plan_path: str) -> int:
    plan = json.loads(Path(plan_path).read_text())
    work = Path(plan["work"])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    hosts = work / "hosts"
    names = " ".join(plan["services"])
    hosts.write_text(f"127.0.0.1 localhost {names}\n::1 localhost ip6-localhost\n")
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)

    stack = Stack(plan)
    services = plan["services"]
    try:
        mongo = services["mongo"]
        stack.start(
            "mongo",
            [plan["python"], "-c", MONGO_STAND_IN, str(work / "mongo-data"), mongo["set_name"]],
            mongo["env"],
            own_pids=False,
        )
        ok = _wait_port("mongo", 27017, 20) and stack.healthcheck(
            "mongo", mongo["healthcheck"], mongo["env"], label="healthcheck"
        )
        # Redis, and with the "ha" profile its replica and the three Sentinels, in order.
        for name in plan.get("data_services", ["redis"]):
            if not ok:
                break
            service = services[name]
            stack.start(name, service["argv"], service["env"], own_pids=False)
            ok = stack.until_healthy(
                name, service["healthcheck"], service["env"], label="healthcheck"
            )
        # The application services, web first (it runs the migrations and the bootstrap).
        for name in plan["app_services"]:
            if not ok:
                break
            service = services[name]
            stack.start(name, service["argv"], service["env"], own_pids=True)
            ok = stack.until_healthy(
                name, service["healthcheck"], service["env"], label="healthcheck"
            )
            for label, check in service.get("extra_checks", {}).items():
                ok = ok and stack.healthcheck(name, check, service["env"], label=label)
        # Checks asked once everything runs (the "ha" profile: the Sentinels' quorum).
        for name, label, check in plan.get("final_checks", []):
            ok = ok and stack.healthcheck(name, check, services[name]["env"], label=label)
    finally:
        stack.stop()
        print(json.dumps(stack.results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
