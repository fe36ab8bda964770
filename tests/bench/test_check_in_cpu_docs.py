"""The hand-kept check-in CPU notes survive a regeneration of docs/benchmarks.md."""

import pytest

from bench.check_in_cpu_docs import note_put, notes_load, saved_sections


def test_a_note_is_appended_kept_and_replaced_by_its_heading(tmp_path):
    doc, notes = tmp_path / "benchmarks.md", tmp_path / "check_in_cpu.json"
    doc.write_text("# Benchmarks\n\n## Reproduce\n\nmake bench\n")
    note_put("## Check-in CPU, 2026-12-07: web", ["worker 6.1 -> 5.8 ms"], path=notes, doc=doc)
    note_put("## Check-in CPU, 2026-12-07: protocol", ["server 11 -> 9 ms"], path=notes, doc=doc)
    note_put("## Check-in CPU, 2026-12-07: web", ["worker 6.1 -> 5.7 ms"], path=notes, doc=doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\n## Reproduce\n\nmake bench\n")
    assert text.index("## Reproduce") < text.index(": web") < text.index(": protocol")
    assert "5.8 ms" not in text and text.count("worker 6.1 -> 5.7 ms") == 1
    assert [n["heading"][-3:] for n in notes_load(notes)] == ["web", "col"]
    # What bench/docs.py appends when it regenerates the file: both notes, the replaced one new.
    regenerated = "\n".join(saved_sections(notes))
    assert "worker 6.1 -> 5.7 ms" in regenerated and "server 11 -> 9 ms" in regenerated


def test_a_note_needs_the_agreed_heading(tmp_path):
    with pytest.raises(ValueError):
        note_put("## Something else", [], path=tmp_path / "n.json", doc=tmp_path / "d.md")
