"""The stand-in's cost per write as it ages in writes: ``python -m bench.stand_in_age [--blocks N]``.

Starts two SecantusDB servers one after the other, the launcher of the tests and ``make run``
(``devtools/secantusd.py``: the retryable-write table pruned from the front) and the stock
``secantusd-py``, and on each sends ``update_one`` by ``_id`` (a retryable write, as every write
of the app is) in blocks of 1,000, printing the server's CPU (user + system, psutil) per update
for each block. The stock server's table is scanned on every write and sorted once it holds
10,000 records (docs/mongodb-stand-in.md).
"""

from __future__ import annotations

import argparse
import sys

import psutil
from pymongo import MongoClient

from devtools.servers import SecantusServer


def per_block_ms(server: SecantusServer, blocks: int, size: int = 1000) -> list[float]:
    """Server CPU ms per update_one by _id, for each block of ``size`` updates."""
    server.start()
    try:
        proc = psutil.Process(server.proc.pid)
        with MongoClient(server.uri) as client:
            items = client.stand_in_age.items
            items.insert_one({"_id": 1, "n": 0})
            result = []
            for _ in range(blocks):
                before = sum(proc.cpu_times()[:2])
                for _ in range(size):
                    items.update_one({"_id": 1}, {"$inc": {"n": 1}})
                result.append((sum(proc.cpu_times()[:2]) - before) * 1000 / size)
            return result
    finally:
        server.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stand_in_age")
    parser.add_argument("--blocks", type=int, default=12, help="blocks of 1,000 updates")
    args = parser.parse_args(argv)
    print("server CPU ms per update_one by _id, per block of 1,000 retryable writes")
    for label, server in (
        ("launcher (devtools/secantusd.py)", SecantusServer()),
        ("stock secantusd-py", SecantusServer(launcher=None)),
    ):
        figures = per_block_ms(server, args.blocks)
        print(f"{label:34} " + " ".join(f"{ms:.2f}" for ms in figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
