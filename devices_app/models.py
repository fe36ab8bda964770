"""Door devices: a tablet or scanner that checks people in and out without a personal password.

An organiser adds a device (a name, the sessions it may scan, or all); the device pairs once with
a one-time code and gets a token of its own. The token may check in and out at its sessions and
nothing else. Only hashes of the code and of the token are stored.
"""

from django.db import models
from django_mongodb_backend.fields import ArrayField, ObjectIdField


class DoorDevice(models.Model):
    """A paired door device: its scope, its pairing code and token (hashed), when it was seen."""

    name = models.CharField(max_length=100, help_text='Where it stands, e.g. "Hall A, door 2".')
    location = models.CharField(max_length=200, blank=True)
    all_sessions = models.BooleanField(
        default=True, help_text="May scan at every session (else only at the sessions listed)."
    )
    # The sessions it may scan when not ``all_sessions`` (ids: this app sits below sessions_app).
    session_ids = ArrayField(ObjectIdField(), default=list, blank=True)
    pairing_code_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    pairing_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    token_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    paired_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["token_hash"], name="device_token_idx")]

    def __str__(self) -> str:
        return self.name
