"""The benchmark (``make bench``): check-in and read latency/throughput through Redis faults.

A script, not a test: it starts the real stack on loopback, measures, and writes JSON, a PNG chart
and docs/benchmarks.md. See bench/__main__.py.
"""
