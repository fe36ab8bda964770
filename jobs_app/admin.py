"""Admin views of background-job state: read-only, for operators."""

from django.contrib import admin

from .models import Job, JobRun, Lease, OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Show job state without letting anyone edit what the system maintains."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("task_name", "created_at", "published_at", "attempts", "last_error")
    list_filter = ("task_name",)
    date_hierarchy = "created_at"


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ("name", "last_success_at", "last_failure_at", "last_error")


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ("name", "holder", "expires_at")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Imports and other staff jobs: who started what, how far it got, how it ended."""

    list_display = (
        "kind",
        "title",
        "status",
        "done",
        "total",
        "failed",
        "started_by",
        "created_at",
    )
    list_filter = ("kind", "status")
    date_hierarchy = "created_at"
    exclude = ("report",)  # the preview rows; the job API and the import page show the errors
