"""Putting one benchmark's own section into docs/benchmarks.md, leaving the rest as it is."""

from __future__ import annotations


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
