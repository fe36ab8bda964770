"""Putting one benchmark's own section into docs/benchmarks.md, leaving the rest as it is."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def section_put(text: str, heading: str, new: str, *, before: str) -> str:
    """Return ``text`` with the section under ``heading`` replaced by ``new`` (up to the next
    "## " heading); a missing section goes before the ``before`` heading, else at the end."""
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        return text[:start] + new + (text[end + 1 :] if end >= 0 else "")
    if before in text:
        at = text.index(before)
        return text[:at] + new + text[at:]
    return text.rstrip("\n") + "\n\n" + new


def saved_section(results: Path, render: Callable[[dict], list[str]]) -> list[str]:
    """The section rendered from a benchmark's kept results file, or nothing if there is none."""
    if not results.exists():
        return []
    return ["", *render(json.loads(results.read_text()))]


def put_section(doc: Path, heading: str, lines: list[str], *, before: str) -> None:
    """Replace (or add, before the ``before`` heading) one section of ``doc`` with ``lines``."""
    new = "\n".join(lines) + "\n\n"
    doc.write_text(section_put(doc.read_text(), heading, new, before=before))


def load_averages(machine: dict) -> tuple[str, str]:
    """The load averages (1/5/15 min) at a run's start and end, as "0.52, 1.10, 2.00"."""

    def shown(values) -> str:
        return ", ".join(f"{x:.2f}" for x in values)

    return shown(machine["loadavg_at_start"]), shown(machine.get("loadavg_at_end", ()))
