"""Participants: the people who check in at session doors."""

import secrets

from django.core.validators import RegexValidator
from django.db import models

from core.model_mixins import ServiceFieldsMixin

from .fields import LowercaseEmailField, TicketCodeField

TICKET_CODE_PATTERN = r"^[A-Za-z0-9_-]{4,64}$"
ticket_code_validator = RegexValidator(
    TICKET_CODE_PATTERN, "Use 4 to 64 letters, digits, '-' or '_' (URL-safe)."
)


# Upper-case letters and digits without the look-alikes I, L, 1, O and 0: a code can be read out
# and typed without doubt (lookups ignore case anyway).
TICKET_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def ticket_code_generate() -> str:
    """Return a new random ticket code such as ``K7QM-X4RP-W9TB`` (what a door scanner reads).

    Three groups of four from a 31-symbol alphabet: about 59 bits, never a leading hyphen.
    """
    groups = ("".join(secrets.choice(TICKET_CODE_ALPHABET) for _ in range(4)) for _ in range(3))
    return "-".join(groups)


class Participant(ServiceFieldsMixin, models.Model):
    """A person who may check in to sessions, identified at the door by a ticket code."""

    full_name = models.CharField(max_length=200)
    email = LowercaseEmailField(
        unique=True, help_text="Unique regardless of case; stored in lower case."
    )
    organization = models.CharField(max_length=200, blank=True)
    ticket_code = TicketCodeField(
        max_length=64,
        unique=True,
        default=ticket_code_generate,
        validators=[ticket_code_validator],
        help_text="URL-safe code printed on the ticket; generated when left empty. Stored in "
        "upper case: lookups ignore case and surrounding spaces.",
    )
    # Set while a delete is deciding; a check-in that sees it waits for the outcome.
    deleting = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SERVICE_FIELDS = frozenset({"deleting"})

    class Meta:
        ordering = ["full_name"]
        # A plain index for the door's ticket lookup: the unique constraint's index is partial
        # (ticket_code of type string), and the stand-in - like MongoDB's planner for an equality
        # that does not spell out the partial filter - scans instead (176 ms at 10,000
        # participants, 3 ms with this one).
        indexes = [
            models.Index(fields=["ticket_code"], name="participant_ticket_idx"),
            # The import matches rows by e-mail (``$in``): without a plain index the stand-in
            # scanned the collection for each value (over 10 s for 500 rows at 10,000 people).
            models.Index(fields=["email"], name="participant_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"


# The ``jobs_app.Job.kind`` of a participant import (its rows are ImportChunks below).
IMPORT_KIND = "participant_import"


class ImportChunk(models.Model):
    """One batch of an import's valid rows, kept in MongoDB until the import job applied it.

    The worker reads the rows from here (never through Redis). ``plan`` is what applying the
    batch decided (create, update, unchanged, error per row, generated ticket codes), written
    before the batch's writes: a redelivered job re-applies the same plan, so the writes stay
    idempotent and the counts exact.
    """

    job = models.ForeignKey("jobs_app.Job", on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    # [[line, full_name, email, organization or None (column absent), ticket_code or ""], ...]
    rows = models.JSONField(default=list)
    plan = models.JSONField(null=True, blank=True)
    applied = models.BooleanField(default=False)

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="importchunk_unique_job_index")
        ]
        indexes = [models.Index(fields=["job", "index"], name="importchunk_job_index_idx")]

    def __str__(self):
        return f"rows batch {self.index} of job {self.job_id}"
