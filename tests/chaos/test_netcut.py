"""The offline doors' cuttable link (chaos/netcut.py) over real TCP, against a tiny HTTP server."""

import asyncio

import httpx
import pytest

from chaos.netcut import CuttableLink, answer_status

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


async def _server(received: list[bytes]):
    async def serve(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n")
             if line.lower().startswith(b"content-length")),
            0,
        )  # fmt: skip
        body = await reader.readexactly(length)
        received.append(body)
        writer.write(ANSWER)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


async def _post(url: str, body: str) -> int | str:
    async with httpx.AsyncClient(timeout=0.5) as client:
        try:
            return (await client.post(url, content=body)).status_code
        except httpx.TimeoutException as exc:
            return type(exc).__name__


@pytest.fixture
def run():
    return lambda coroutine: asyncio.run(asyncio.wait_for(coroutine, timeout=20))


def test_a_cut_link_carries_nothing_and_a_restored_one_carries_again(run):
    async def scenario():
        received: list[bytes] = []
        server = await _server(received)
        link = await CuttableLink("link:t", server.sockets[0].getsockname()[:2]).start()
        try:
            before = await _post(link.url, "one")
            link.cut()
            during = await _post(link.url, "two")
            link.restore()
            after = await _post(link.url, "three")
        finally:
            await link.close()
            server.close()
        return before, during, after, received

    before, during, after, received = run(scenario())
    assert (before, during, after) == (200, "ReadTimeout", 200)
    assert received == [b"one", b"three"]  # nothing reached the server while cut


def test_cut_after_request_loses_the_answer_of_a_request_the_server_received(run):
    async def scenario():
        received: list[bytes] = []
        server = await _server(received)
        link = await CuttableLink("link:t", server.sockets[0].getsockname()[:2]).start()
        try:
            link.cut_after_request()
            lost = await _post(link.url, '{"sync": 1}')
            cut = link.is_cut
        finally:
            await link.close()
            server.close()
        return lost, cut, received, link

    lost, cut, received, link = run(scenario())
    assert lost == "ReadTimeout" and cut
    assert received == [b'{"sync": 1}']  # decided by the server, its answer never arrived
    assert len(link.cuts) == 1
    assert answer_status(link.dropped[1]) == (200, b"ok")  # kept for the checks
