"""The chaos suite's load balancer (chaos/balancer.py) over real TCP, against two tiny HTTP nodes:
round robin, a node taken out after failed /health/ready checks and put back after passed ones,
a refused connection moved to the other node, every node tried when none is in."""

import asyncio

import httpx
import pytest

from chaos.balancer import Backend, Balancer


class Node:
    """An HTTP server that names itself; /health/ready answers 200 or 503 as told."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = True
        self.server: asyncio.Server | None = None

    async def start(self) -> "Node":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1]
        status = b"200 OK" if path != b"/health/ready" or self.ready else b"503 Unavailable"
        body = self.name.encode()
        writer.write(
            b"HTTP/1.1 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, len(body), body)
        )
        await writer.drain()
        writer.close()


async def _names(url: str, count: int) -> list[str]:
    names = []
    for _ in range(count):  # a new connection each time (the nodes close theirs)
        async with httpx.AsyncClient(timeout=2) as client:
            names.append((await client.get(f"{url}/x")).text)
    return names


@pytest.fixture
def run():
    return lambda coroutine: asyncio.run(asyncio.wait_for(coroutine, timeout=20))


async def _setup(**options):
    a, b = await Node("a").start(), await Node("b").start()
    balancer = Balancer(
        [Backend("node-a", a.port), Backend("node-b", b.port)], interval=3600, **options
    )
    await balancer.start()
    return a, b, balancer


def test_round_robin_over_both_nodes(run):
    async def scenario():
        a, b, balancer = await _setup()
        try:
            return await _names(balancer.url, 4), [x.connections for x in balancer.backends]
        finally:
            await balancer.close()
            await a.stop()
            await b.stop()

    names, connections = run(scenario())
    assert names == ["a", "b", "a", "b"]
    assert connections == [2, 2]


def test_a_node_failing_its_ready_check_is_taken_out_and_put_back_when_it_passes(run):
    async def scenario():
        a, b, balancer = await _setup(fall=2, rise=2)
        seen = {}
        try:
            b.ready = False
            await balancer.check_once()
            seen["one failure"] = [x.up for x in balancer.backends]
            await balancer.check_once()
            seen["two failures"] = [x.up for x in balancer.backends]
            seen["while out"] = await _names(balancer.url, 3)
            b.ready = True
            await balancer.check_once()
            seen["one pass"] = [x.up for x in balancer.backends]
            await balancer.check_once()
            seen["two passes"] = [x.up for x in balancer.backends]
            seen["back"] = sorted(await _names(balancer.url, 2))
            return seen, balancer
        finally:
            await balancer.close()
            await a.stop()
            await b.stop()

    seen, balancer = run(scenario())
    assert seen["one failure"] == [True, True]  # one failed check is not enough (fall=2)
    assert seen["two failures"] == [True, False]
    assert seen["while out"] == ["a", "a", "a"]
    assert seen["one pass"] == [True, False]  # rise=2
    assert seen["two passes"] == [True, True]
    assert seen["back"] == ["a", "b"]
    assert [(name, change) for _, name, change in balancer.changes] == [
        ("node-b", "out"),
        ("node-b", "in"),
    ]
    assert balancer.out_windows(end=9.0) == {"node-a": [], "node-b": [(0.0, 0.0)]}


def test_a_dead_node_not_yet_checked_out_costs_no_answer(run):
    async def scenario():
        a, b, balancer = await _setup()
        try:
            await b.stop()  # killed: connections refused, still in rotation until checked
            names = await _names(balancer.url, 4)
            in_rotation = [x.up for x in balancer.backends]
            await balancer.check_once()
            await balancer.check_once()
            return names, in_rotation, [x.up for x in balancer.backends]
        finally:
            await balancer.close()
            await a.stop()

    names, before_checks, after_checks = run(scenario())
    assert names == ["a", "a", "a", "a"]
    assert before_checks == [True, True]
    assert after_checks == [True, False]


def test_with_no_node_in_every_node_is_tried_in_turn(run):
    """A MongoDB outage fails both nodes' /health/ready: the nodes answer (their 503), the
    balancer does not close the doors' connections."""

    async def scenario():
        a, b, balancer = await _setup(fall=1)
        try:
            a.ready = b.ready = False
            await balancer.check_once()
            return [x.up for x in balancer.backends], await _names(balancer.url, 2)
        finally:
            await balancer.close()
            await a.stop()
            await b.stop()

    up, names = run(scenario())
    assert up == [False, False]
    assert sorted(names) == ["a", "b"]
