"""Hand-kept "Check-in CPU, <date>: <piece>" notes at the end of docs/benchmarks.md.

Each is a measured note (before/after medians of ``bench.cpu_split``, the profile's top entries,
the machine's load) written by whoever cut a piece of a check-in's CPU (issue 28, part 2). They
are kept in ``docs/benchmarks/check_in_cpu.json`` (heading and lines, in the order first added), so
``python -m bench --render`` and ``make bench`` put them back at the end of the file when they
regenerate it (``bench/docs.py``). ``note_put`` adds or replaces one note by its heading.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import doc_sections

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
NOTES = ROOT / "docs" / "benchmarks" / "check_in_cpu.json"
PREFIX = "## Check-in CPU, "


def notes_load(path: Path = NOTES) -> list[dict]:
    """Return the kept notes: ``[{"heading": ..., "lines": [...]}, ...]`` (none: [])."""
    return json.loads(path.read_text())["notes"] if path.exists() else []


def saved_sections(path: Path = NOTES) -> list[str]:
    """The kept notes as Markdown lines, each under its heading (for bench/docs.py)."""
    lines: list[str] = []
    for note in notes_load(path):
        lines += ["", note["heading"], "", *note["lines"]]
    return lines


def note_put(heading: str, lines: list[str], *, path: Path = NOTES, doc: Path = DOC) -> None:
    """Keep one note (replacing the one with the same heading) and put it into ``doc``."""
    if not heading.startswith(PREFIX):
        raise ValueError(f"a note's heading starts with {PREFIX!r}")
    notes, note = notes_load(path), {"heading": heading, "lines": lines}
    at = next((i for i, n in enumerate(notes) if n["heading"] == heading), len(notes))
    notes[at : at + 1] = [note]  # in its place, as in the file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"notes": notes}, indent=1) + "\n")
    # No heading after the notes: a new one goes at the end of the file.
    doc_sections.put_section(doc, heading, [heading, "", *lines], before="\0")
