"""Sessions, check-ins and the scan log.

``Session.check_in_count``, ``epoch`` and ``deleting`` are written only by the admission protocol
and the reconcile, through atomic conditional updates of the session document; nothing else may
save them (see ``Session.save``). How the counter and the CheckIn records stay safe together under
stalls, crashes and repairs is explained in ``sessions_app/services/admission_protocol.py``.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.model_mixins import ServiceFieldsMixin
from participants_app.models import Participant


def session_times_check(starts_at, ends_at) -> None:
    """The one rule on a session's times: it ends after it starts (``ValidationError`` on ends_at)."""
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."})


def capacity_below_count_error(count: int, leased: int = 0) -> ValidationError:
    """The error for a capacity lower than the number inside (admin form and service alike)."""
    if leased:
        return ValidationError(
            {
                "capacity": (
                    f"Capacity cannot be lower than the participants checked in now ({count}) "
                    f"plus the places leased to doors for offline scanning ({leased}). Check "
                    "people out, or wait for the doors to return their places."
                )
            }
        )
    return ValidationError(
        {
            "capacity": (
                f"Capacity cannot be lower than the number of participants checked in now "
                f"({count}). Check people out first."
            )
        }
    )


def fill_percent(count: int, capacity: int) -> float:
    """The one rule for a fill percentage (admin, stats, live board): 0 for 0 of 0."""
    if capacity == 0:
        return 100.0 if count else 0.0
    return round(100.0 * count / capacity, 1)


class Session(ServiceFieldsMixin, models.Model):
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
    # Bumped by every counter repair of the reconcile: a check-out's decrement (and the undo of a
    # cancelled admission) applies only if no repair happened since it read the epoch, so a repair
    # that already accounted for it is never counted twice.
    epoch = models.PositiveIntegerField(default=0, editable=False)
    # Bumped by every increment and decrement of the counter: a repair applies only if no
    # increment or decrement happened since the reconcile read the counter. (The counter's value
    # alone cannot tell: a check-out and a check-in meanwhile leave it as it was, with other
    # people inside.)
    moves = models.PositiveBigIntegerField(default=0, editable=False)
    # Set while a delete is deciding: admissions stop (their increment requires False).
    deleting = models.BooleanField(default=False, editable=False)
    # Places leased to doors that may go offline and not used yet (``services/leases.py``): the
    # total, and per lease (``{"<lease id>": places}``). Every write changes both in one update,
    # so ``leased == sum(lease_room.values())``. Online admissions count them as taken:
    # people inside + leased <= capacity (docs/door-protocol.md).
    leased = models.PositiveIntegerField(default=0, editable=False)
    lease_room = models.JSONField(default=dict, blank=True, editable=False)
    # The lease operations (ops) that moved a place, per lease (``{"<lease id>": [op, ...]}``):
    # what makes each transfer or credit happen once (``admission_protocol.lease_move``).
    lease_ops = models.JSONField(default=dict, blank=True, editable=False)
    # Live occupancy (live_app): bumped, with ``changed_at`` set, by the very write that changes
    # what a screen shows (check-ins and check-outs, repairs, edits), so a screen can drop
    # a message that is not newer than what it has, and "changed since T" is one index range.
    version = models.PositiveBigIntegerField(default=0, editable=False)
    changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "title"]
        indexes = [
            models.Index(fields=["starts_at"], name="session_starts_at_idx"),
            models.Index(fields=["changed_at"], name="session_changed_at_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    # Written only by conditional updates of the admission protocol and the reconcile.
    SERVICE_FIELDS = frozenset(
        {
            "check_in_count", "epoch", "moves", "deleting", "version", "changed_at", "leased",
            "lease_room", "lease_ops",
        }
    )  # fmt: skip

    def clean(self):
        session_times_check(self.starts_at, self.ends_at)

    @property
    def doors_open_at(self):
        """Return when the door starts admitting: ``DOORS_OPEN_MINUTES`` before the start."""
        return self.starts_at - timedelta(minutes=settings.DOORS_OPEN_MINUTES)

    @property
    def doors_close_at(self):
        """Return when the door stops admitting: ``DOORS_CLOSE_GRACE_MINUTES`` after the end."""
        return self.ends_at + timedelta(minutes=settings.DOORS_CLOSE_GRACE_MINUTES)

    @property
    def fill_percent(self) -> float:
        """Return how full the session is, in percent (0 for a capacity of 0 with nobody in)."""
        return fill_percent(self.check_in_count, self.capacity)


class CheckIn(models.Model):
    """One participant's presence in one session (one record per pair, reused on re-entry).

    ``state`` moves ``out -> entering -> inside -> leaving -> out``. ``entering`` and ``leaving``
    are an admission or a check-out in flight (``op`` names it): the counter is changed only
    while a record is in one of them, which is what lets the reconcile tell a request caught
    between its writes from a crash leftover (see ``sessions_app/services/admission_protocol.py``).
    """

    class Source(models.TextChoices):
        API = "api", "API"
        ADMIN = "admin", "Admin"
        DOOR = "door", "Door page"
        SYSTEM = "system", "System (session ended)"
        OFFLINE = "offline", "Door, offline (synced)"

    class State(models.TextChoices):
        ENTERING = "entering", "Entering (admission in progress)"
        INSIDE = "inside", "Inside"
        LEAVING = "leaving", "Leaving (check-out in progress)"
        OUT = "out", "Out"

    # Counted against the capacity by the reconcile (an in-flight admission may hold a place).
    HOLDING_STATES = (State.ENTERING, State.INSIDE, State.LEAVING)

    # No index of its own: the pair and state indexes lead with it (docs/mongodb-stand-in.md: every
    # index is rewritten on every write of the record on the stand-in).
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, related_name="check_ins", db_index=False
    )
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="check_ins")
    state = models.CharField(max_length=8, choices=State.choices, default=State.OUT)
    # The in-flight operation (a fresh ObjectId per request) and when it started; empty otherwise.
    op = models.CharField(max_length=24, blank=True, default="")
    op_started_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    # The lease of the operation in flight (an offline scan synced by a door: its place comes
    # from that lease, services/leases.py), empty for an online one; kept after it.
    lease = models.CharField(max_length=24, blank=True, default="")

    class Meta:
        ordering = ["-checked_in_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "participant"], name="checkin_unique_session_participant"
            )
        ]
        indexes = [
            models.Index(fields=["session", "state"], name="checkin_session_state_idx"),
            # The admission protocol's lookup of a pair (the unique constraint's index is partial:
            # not used).
            models.Index(fields=["session", "participant"], name="checkin_pair_idx"),
        ]
        permissions = [("check_in", "Can check participants in and out of sessions")]

    def __str__(self) -> str:
        return f"{self.participant.full_name} in {self.session.title}"

    @property
    def is_inside(self) -> bool:
        return self.state == self.State.INSIDE


class Lease(models.Model):
    """Places of a session set aside for one door that may go offline (``services/leases.py``).

    The session document holds the places themselves (``Session.lease_room``); this document
    says who holds them, until when, and what happened to them (advisory counts: ``granted``
    includes check-out credits, ``used`` the offline admissions synced, ``returned`` the places
    given back). ``granting`` -> ``active`` -> ``settled`` (returned or expired: no room left).
    """

    class State(models.TextChoices):
        GRANTING = "granting", "Granting"
        ACTIVE = "active", "Active"
        SETTLED = "settled", "Settled"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="leases")
    device = models.ForeignKey(
        "devices_app.DoorDevice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leases",
    )
    holder = models.CharField(max_length=150, blank=True, help_text="The device's or user's name.")
    requested = models.PositiveIntegerField(default=0)
    granted = models.PositiveIntegerField(default=0)
    used = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=8, choices=State.choices, default=State.GRANTING)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    # The places each sync (by its ``sync_id``) returned: a retried sync returns nothing again.
    returns = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The reconcile's expired leases.
            models.Index(fields=["state", "expires_at"], name="lease_state_expiry_idx"),
            # A holder's lease at a session (asking again renews it).
            models.Index(fields=["session", "holder", "state"], name="lease_holder_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.holder or 'a door'}: {self.granted} places at {self.session.title}"


class Scan(models.Model):
    """One check-in or check-out attempt at a door, accepted or refused (the scan log).

    The history of a door: who was turned away, when and why. A check-in's ``nonce`` (the
    client's idempotency key) is unique per session, so the entry is also what a replay of that
    request is answered from. An entry with an empty ``reason`` is a check-in still deciding.
    """

    class Direction(models.TextChoices):
        IN = "in", "In"
        OUT = "out", "Out"

    # session, participant and device have no index of their own: an index below leads with each
    # (docs/mongodb-stand-in.md: the stand-in rewrites every index on every write of an entry,
    # two writes per check-in).
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="scans", db_index=False
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scans",
        db_index=False,
    )
    participant_name = models.CharField(max_length=200, blank=True)
    ticket_code = models.CharField(max_length=64, blank=True, help_text="As scanned, if given.")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    reason = models.CharField(max_length=32, blank=True, db_index=True)
    nonce = models.CharField(max_length=64, blank=True, default="")
    source = models.CharField(max_length=8, choices=CheckIn.Source.choices)
    actor = models.CharField(max_length=150, blank=True, help_text="Who scanned (user name).")
    created_at = models.DateTimeField(default=timezone.now)
    check_in_count = models.PositiveIntegerField(null=True, blank=True)
    replayed = models.BooleanField(
        default=False, help_text="A repeat of an earlier request (same nonce), answered from it."
    )
    # The request that owns an undecided entry (empty once decided).
    owner_op = models.CharField(max_length=24, blank=True, default="")
    # The paired door device that scanned (devices_app), and its name as it was then.
    device = models.ForeignKey(
        "devices_app.DoorDevice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scans",
        db_index=False,
    )
    device_name = models.CharField(max_length=100, blank=True)
    # When the scan happened on the device (a late scan's own time); ``created_at`` is the
    # server's. Capacity is decided when the request arrives, never at ``scanned_at``.
    scanned_at = models.DateTimeField(null=True, blank=True)
    # An undo's entry: the scan it annuls.
    annuls = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="annulled_by"
    )
    # The latency the door itself measured for its previous request (telemetry, milliseconds).
    client_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    # An offline scan synced through a lease (services/leases.py): the lease, and the conflict it
    # met, if any (admitted elsewhere, unknown ticket, ...; ``verdicts.Conflict``).
    lease = models.ForeignKey(
        Lease, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans"
    )
    conflict = models.CharField(max_length=32, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "nonce"],
                condition=models.Q(nonce__gt=""),
                name="scan_unique_session_nonce",
            )
        ]
        indexes = [
            models.Index(fields=["session", "-created_at"], name="scan_session_time_idx"),
            models.Index(fields=["participant", "-created_at"], name="scan_participant_time_idx"),
            models.Index(fields=["ticket_code"], name="scan_ticket_idx"),
            # A nonce's lookup (the unique constraint's index is partial: not used).
            models.Index(fields=["session", "nonce"], name="scan_session_nonce_idx"),
            # The doors view: a device's recent scans.
            models.Index(fields=["device", "-created_at"], name="scan_device_time_idx"),
            # A session's conflicts (GET /api/sessions/{id}/conflicts/, the admin's page).
            models.Index(fields=["session", "conflict"], name="scan_session_conflict_idx"),
        ]

    def __str__(self) -> str:
        who = self.participant_name or self.ticket_code or "unknown"
        where = "in" if self.direction == self.Direction.IN else "out of"
        return f"{who} {where} {self.session.title}: {self.reason or 'deciding'}"


class ScanConflict(Scan):
    """The scan log's conflicts: offline scans the server disagreed with (the admin's page)."""

    class Meta:
        proxy = True
        verbose_name = "conflict"
        verbose_name_plural = "conflicts"
