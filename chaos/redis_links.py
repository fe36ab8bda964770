"""One app node's own network path to the Sentinel-managed Redis, which the chaos suite can cut.

A node of the two-node stack reaches Redis through relays of its own (chaos/netcut.py's
CuttableLink, in a thread with its own event loop, because the node's processes start before the
driver's loop): one relay per Sentinel and one per Redis server. A Sentinel client asks a Sentinel
for the master's address and then connects to that address, which would go round the relays; so
the Sentinels' answers are rewritten on their way back: every Redis server's port is replaced by
the port of that server's relay (all loopback ports here have five digits, so the RESP lengths
stay right). The node then follows a failover as usual, through its relays.

``cut()`` makes every relay of the node carry nothing (its Redis, its broker and its live pub/sub
hang, as behind a dead switch port) while the other node keeps Redis; ``restore()`` ends it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from chaos.netcut import CuttableLink


def port_rewriter(ports: dict[int, int]) -> Callable[[bytes], bytes]:
    """Return a function replacing each RESP bulk string ``$5 <port>`` by its relay's port."""
    pairs = []
    for real, relay in ports.items():
        old, new = str(real).encode(), str(relay).encode()
        if len(old) != len(new):
            raise ValueError(f"ports of different lengths: {real} and {relay}")
        pairs.append((b"$%d\r\n%s\r\n" % (len(old), old), b"$%d\r\n%s\r\n" % (len(new), new)))

    def rewrite(data: bytes) -> bytes:
        for old, new in pairs:
            data = data.replace(old, new)
        return data

    return rewrite


class NodeRedisLinks:
    """Relays from one node to every Sentinel and Redis server of a ``SentinelSet``."""

    def __init__(self, name: str, sentinel_set, *, clock: Callable[[], float] | None = None):
        self.name = name
        self.set = sentinel_set
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.servers: dict[int, CuttableLink] = {}  # real Redis port -> its relay
        self.sentinels: list[CuttableLink] = []

    def _now(self) -> float:
        return self.clock() if self.clock else 0.0

    def start(self) -> NodeRedisLinks:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        for server in self.set.servers:
            link = CuttableLink(f"{self.name}:redis:{server.port}", ("127.0.0.1", server.port))
            self.servers[server.port] = await link.start()
        rewrite = port_rewriter({port: _port(link) for port, link in self.servers.items()})
        for sentinel in self.set.sentinels:
            link = CuttableLink(
                f"{self.name}:sentinel:{sentinel.port}",
                ("127.0.0.1", sentinel.port),
                rewrite=rewrite,
            )
            self.sentinels.append(await link.start())

    def links(self) -> list[CuttableLink]:
        return [*self.sentinels, *self.servers.values()]

    @property
    def url(self) -> str:
        """The node's REDIS_URL: the set's Sentinel URL with the relays' addresses."""
        auth = f":{self.set.password}@" if self.set.password else ""
        hosts = ",".join(f"127.0.0.1:{_port(link)}" for link in self.sentinels)
        return f"redis+sentinel://{auth}{hosts}/{self.set.master_name}/0"

    @property
    def is_cut(self) -> bool:
        return any(link.is_cut for link in self.links())

    def _call(self, method: str) -> None:
        def every() -> None:
            for link in self.links():
                link.clock = self.clock
                getattr(link, method)()

        done = asyncio.run_coroutine_threadsafe(_run(every), self.loop)
        done.result(timeout=10)

    def cut(self) -> None:
        """Cut the node off Redis and the Sentinels (every open connection goes dead)."""
        self._call("cut")

    def restore(self) -> None:
        self._call("restore")

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    async def _close(self) -> None:
        for link in self.links():
            await link.close()
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:  # the relays' connections: ended with the loop
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _run(function: Callable[[], None]) -> None:
    function()


def _port(link: CuttableLink) -> int:
    return int(link.url.rsplit(":", 1)[1])
