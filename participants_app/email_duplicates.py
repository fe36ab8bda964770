"""Bring stored e-mails to the one spelling of ``email_normalize``; report, never merge, clashes.

Used by migration 0006 and by ``manage.py participants_report_duplicate_emails``. Two stored
participants whose addresses normalise to the same mailbox may be two records of one person, or a
typo: deciding which to keep (their check-ins, their tickets) is for a person, so both rows are
left exactly as they are and the group is reported.
"""

from __future__ import annotations

from collections import defaultdict

from .fields import email_normalize


def email_duplicate_groups(participants) -> dict[str, list[tuple[str, str]]]:
    """Group ``(pk, email)`` pairs by normalised e-mail; return the groups of two or more."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pk, email in participants:
        groups[email_normalize(email)].append((str(pk), email))
    return {key: rows for key, rows in groups.items() if len(rows) > 1}


def email_normalize_stored(model, *, write: bool) -> tuple[int, dict]:
    """Rewrite each stored e-mail that is not normalised, unless it clashes with another row.

    Return how many were (or, without ``write``, would be) rewritten and the clashing groups.
    Writes go to the collection directly (by primary key), bypassing the field's own rule.
    """
    pairs = list(model.objects.values_list("pk", "email"))
    clashes = email_duplicate_groups(pairs)
    changed = 0
    for pk, email in pairs:
        normal = email_normalize(email)
        if normal == email or normal in clashes:
            continue
        if write:
            model.objects.filter(pk=pk).update(email=normal)
        changed += 1
    return changed, clashes


def email_clashes_describe(clashes: dict) -> list[str]:
    """One line per clashing group: the mailbox, then each row's id and stored spelling."""
    return [
        f"{mailbox}: " + ", ".join(f"{pk} <{email}>" for pk, email in rows)
        for mailbox, rows in sorted(clashes.items())
    ]
