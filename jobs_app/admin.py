"""Admin views of background-job state: read-only, for operators."""

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

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


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    """Beat's periodic task form, whose crontab help works with ObjectId keys.

    Beat hands the template ``{crontab.id: text}`` for ``json_script``, which cannot encode an
    ObjectId key: the add and change forms answered 500 as soon as one crontab existed. The
    form's script looks the text up by the select's value, the id as a string.
    """

    def render_change_form(self, request, context, *args, **kwargs):
        crontabs = context.get("readable_crontabs") or {}
        context["readable_crontabs"] = {str(key): text for key, text in crontabs.items()}
        return super().render_change_form(request, context, *args, **kwargs)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicTaskAdmin)
