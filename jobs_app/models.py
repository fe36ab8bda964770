"""MongoDB-backed state for background jobs. Redis may be down: none of this lives there."""

from django.db import models


class OutboxMessage(models.Model):
    """A task that could not be published because the broker was unavailable.

    Published later by the worker at start-up and by a periodic task, then marked published.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # A publisher claims a message until this time, so two flushers never publish it twice.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["published_at", "created_at"])]

    def __str__(self):
        state = "published" if self.published_at else "pending"
        return f"{self.task_name} ({state})"


class Lease(models.Model):
    """A named, expiring lock held in MongoDB (Redis may be down when it is needed)."""

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=100, blank=True, default="")
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at:%H:%M:%S}"


class JobRun(models.Model):
    """The last successful run of a named job, with its summary (read by health)."""

    name = models.CharField(max_length=100, unique=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_summary = models.JSONField(default=dict, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")

    def __str__(self):
        return self.name


class Job(models.Model):
    """A long-running job that staff started (an import, say): status, progress and report.

    Kept in MongoDB, not in a Celery result backend: Redis may be down while people watch it.
    ``kind`` names what the job does; the app that owns the kind keeps its own input records.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        # Not confirmed in time: its rows are gone (participants_app/imports/retention.py).
        EXPIRED = "expired", "Preview expired"

    kind = models.CharField(max_length=50)
    title = models.CharField(
        max_length=200, blank=True, help_text="What it works on (a file name)."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # The preview before confirmation, then the outcome: per-row errors with their line numbers.
    report = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    started_by = models.CharField(max_length=150, blank=True, help_text="User name.")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} {self.title} ({self.status})".replace("  ", " ")

    @property
    def percent(self) -> float:
        """Return the share of rows done, in percent (100 for a finished job without rows)."""
        if self.total == 0:
            return 100.0 if self.status in (self.Status.DONE, self.Status.FAILED) else 0.0
        return round(100.0 * self.done / self.total, 1)
