"""The chaos suite: real processes, door traffic over HTTP, faults on a schedule, checks in MongoDB.

Run it with ``make chaos`` (full form) or ``python -m chaos --short``; see chaos/__main__.py.
"""
