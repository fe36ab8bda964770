"""Sessions and check-ins.

``Session.check_in_count`` is written only by the check-in services, through atomic conditional
updates of the session document; nothing else may save it (see ``Session.save``).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from participants_app.models import Participant


class Session(models.Model):
    """A session with a door: participants check in while it is open, up to its capacity."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    location = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField(help_text="Most participants inside at once.")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    check_in_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Participants checked in now."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "title"]
        indexes = [models.Index(fields=["starts_at"], name="session_starts_at_idx")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, update_fields=None, **kwargs):
        """Save, but never write ``check_in_count`` over an existing document.

        A full save writes every field; for the counter that would replace concurrent check-ins
        with the value this instance loaded. Only the services change the counter.
        """
        if not self._state.adding and update_fields is None:
            update_fields = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "check_in_count"
            ]
        elif update_fields is not None:
            update_fields = [name for name in update_fields if name != "check_in_count"]
        super().save(*args, update_fields=update_fields, **kwargs)

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})

    @property
    def fill_percent(self) -> float:
        """Return how full the session is, in percent (0 for a capacity of 0 with nobody in)."""
        if self.capacity == 0:
            return 100.0 if self.check_in_count else 0.0
        return round(100.0 * self.check_in_count / self.capacity, 1)


class CheckIn(models.Model):
    """One participant's presence in one session (one record per pair, reused on re-entry)."""

    class Source(models.TextChoices):
        API = "api", "API"
        ADMIN = "admin", "Admin"

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="check_ins")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="check_ins")
    checked_in_at = models.DateTimeField(default=timezone.now)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    # The client's idempotency key of the latest check-in: a replay of it is answered, not re-applied.
    nonce = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-checked_in_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "participant"], name="checkin_unique_session_participant"
            )
        ]
        indexes = [
            models.Index(fields=["session", "checked_out_at"], name="checkin_session_inside_idx")
        ]
        permissions = [("check_in", "Can check participants in and out of sessions")]

    def __str__(self) -> str:
        return f"{self.participant_id} in {self.session_id}"

    @property
    def is_inside(self) -> bool:
        return self.checked_out_at is None
