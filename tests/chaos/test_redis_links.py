"""One node's cuttable path to the Sentinel-managed Redis (chaos/redis_links.py), against a real
master, replica and three Sentinels: a Sentinel client on the node's URL is sent to the master
through the node's relay, a cut leaves that node without Redis while another client keeps it."""

import pytest
import redis
from redis.sentinel import Sentinel

from chaos.redis_links import NodeRedisLinks, port_rewriter
from devtools.servers import SentinelSet


def test_port_rewriter_replaces_bulk_string_ports_only():
    rewrite = port_rewriter({40123: 51234})
    reply = b"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n40123\r\n:40123\r\n"
    assert rewrite(reply) == b"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n51234\r\n:40123\r\n"
    with pytest.raises(ValueError, match="different lengths"):
        port_rewriter({6379: 51234})


def _sentinel(url: str) -> Sentinel:
    hosts = url.split("//", 1)[1].split("/", 1)[0].split(",")
    addresses = [(h.split(":")[0], int(h.split(":")[1])) for h in hosts]
    return Sentinel(addresses, socket_timeout=0.5, socket_connect_timeout=0.5)


def test_a_cut_node_loses_redis_while_the_other_keeps_it(tmp_path):
    servers = SentinelSet(log_dir=tmp_path).start()
    links = NodeRedisLinks("node-b", servers).start()
    try:
        cut_off = _sentinel(links.url)
        master = cut_off.master_for("mymaster", socket_timeout=0.5)
        assert cut_off.discover_master("mymaster")[1] in {
            int(link.url.rsplit(":", 1)[1]) for link in links.servers.values()
        }  # the node reaches the master through its own relay
        master.set("k", "1")
        direct = _sentinel(servers.url).master_for("mymaster", socket_timeout=0.5)
        assert direct.get("k") == b"1"
        links.cut()
        with pytest.raises(redis.RedisError):
            master.get("k")
        assert direct.get("k") == b"1"  # the other node still has Redis
        links.restore()
        fresh = _sentinel(links.url).master_for("mymaster", socket_timeout=0.5)
        assert fresh.get("k") == b"1"
    finally:
        links.stop()
        servers.stop()
