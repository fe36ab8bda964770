"""Staff UI for sessions and check-in records. Counters are read-only everywhere."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from core.staff_time import staff_time
from jobs_app.schedule import RECONCILE_TASK
from jobs_app.services import task_publish

from . import services
from .access import user_can_see_attendance, user_can_see_scan_log
from .admin_history import session_latest_scans
from .exports import export_history_action, export_inside_action, user_can_export_attendance
from .models import CheckIn, Lease, Scan, ScanConflict, Session, capacity_below_count_error
from .selectors import session_check_in_list
from .services.sessions import EDITABLE_FIELDS
from .verdicts import CONFLICT_LABELS, LABELS

# Names listed on a session's page; the link beside them lists everyone inside.
_INSIDE_SHOWN = 50


class ReadOnlyAdminMixin:
    """Records that change only through the door services: viewable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PrefetchNotJoinMixin:
    """A changelist's related objects by ``prefetch_related``: one read by ``_id`` per page each.

    Not ``list_select_related``: django-mongodb-backend (5.2) puts a join's ``$lookup`` before the
    ``$match``, and before the ``$sort`` and ``$limit`` of the page, so every document of the
    collection (the whole scan log) was joined before the page's hundred were picked. Django's
    default (``False``) would join every foreign key in ``list_display``; none is joined here.
    """

    list_prefetch_related: list[str] = []

    def get_list_select_related(self, request):
        return ()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.list_prefetch_related)


class SessionAdminForm(forms.ModelForm):
    class Meta:
        model = Session
        fields = list(EDITABLE_FIELDS)

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if self.instance.pk:
            # A friendly early check; the service's conditional update is the real guard.
            current = (
                Session.objects.filter(pk=self.instance.pk)
                .values_list("check_in_count", flat=True)
                .first()
            )
            if current is not None and capacity < current:
                raise ValidationError(capacity_below_count_error(current).message_dict["capacity"])
        return capacity


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    form = SessionAdminForm
    list_display = [
        "title",
        "status",
        "starts",
        "ends",
        "location",
        "capacity",
        "checked_in_now",
        "fill",
    ]
    list_filter = ["status"]
    date_hierarchy = "starts_at"
    search_fields = ["title", "location", "description"]
    readonly_fields = [
        "check_in_count",
        "leased",
        "fill",
        "inside_now",
        "latest_scans",
        "created_at",
        "updated_at",
    ]
    fields = [*EDITABLE_FIELDS, *readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        # A session being added has no counters, scans or times yet: no "-" placeholders.
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        """Show who is inside and the latest scans only to those the API shows them to."""
        if obj is None:
            return list(EDITABLE_FIELDS)
        hidden = set()
        if not user_can_see_attendance(request.user):
            hidden.add("inside_now")
        if not user_can_see_scan_log(request.user):
            hidden.add("latest_scans")
        return [field for field in super().get_fields(request, obj) if field not in hidden]

    def changelist_view(self, request, extra_context=None):
        extra_context = {"subtitle": f"Times in {settings.TIME_ZONE}", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.display(description="starts", ordering="starts_at")
    def starts(self, session: Session) -> str:
        return staff_time(session.starts_at)

    @admin.display(description="ends", ordering="ends_at")
    def ends(self, session: Session) -> str:
        return staff_time(session.ends_at)

    @admin.display(description="inside now")
    def inside_now(self, session: Session) -> str:
        """Who is inside now (the first few by latest check-in), with links to all and the scans."""
        if not session.pk:
            return "-"
        records = list(session_check_in_list(session_id=session.pk, inside=True)[:_INSIDE_SHOWN])
        count = session_check_in_list(session_id=session.pk, inside=True).count()
        inside_url = reverse("admin:sessions_app_checkin_changelist")
        scans_url = reverse("admin:sessions_app_scan_changelist")
        names = format_html_join(
            "", "<li>{} <small>since {}</small></li>",
            ((r.participant.full_name, staff_time(r.checked_in_at)) for r in records),
        )  # fmt: skip
        return format_html(
            "<strong>Inside now ({})</strong><ul>{}</ul>"
            '<a href="{}?session__id__exact={}&amp;presence=inside">All inside</a> · '
            '<a href="{}?session__id__exact={}">Scans at this door</a>',
            count,
            names,
            inside_url,
            session.pk,
            scans_url,
            session.pk,
        )

    @admin.display(description="latest scans")
    def latest_scans(self, session: Session) -> str:
        return session_latest_scans(session)

    @admin.display(description="checked in now", ordering="check_in_count")
    def checked_in_now(self, session: Session) -> int:
        return session.check_in_count

    @admin.display(description="fill %")
    def fill(self, session: Session) -> str:
        return f"{session.fill_percent:.1f} %" if session.pk else "-"

    def save_model(self, request, obj, form, change):
        """Save through the services, so the capacity guard, caches and Redis stay right."""
        data = {field: form.cleaned_data[field] for field in EDITABLE_FIELDS}
        try:
            if change:
                saved = services.session_update(session=Session.objects.get(pk=obj.pk), data=data)
            else:
                saved = services.session_create(**data)
        except ValidationError as exc:  # lost a race with check-ins after the form check
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        obj.pk = saved.pk
        obj.check_in_count = saved.check_in_count

    def delete_model(self, request, obj):
        services.session_delete(session=obj)

    def delete_queryset(self, request, queryset):
        for session in queryset:
            services.session_delete(session=session)

    actions = ["reconcile_now", export_inside_action, export_history_action]

    def has_export_attendance_permission(self, request) -> bool:
        return user_can_export_attendance(request.user)

    @admin.action(description="Reconcile counters of all open sessions now")
    def reconcile_now(self, request, queryset):
        """Queue the reconcile task; with the broker down it waits in the outbox (no delay here)."""
        result = task_publish(task_name=RECONCILE_TASK)
        if result.published:
            self.message_user(request, "Reconciliation queued; a worker runs it now.")
        else:
            self.message_user(
                request,
                "The broker is unavailable: reconciliation kept in the outbox, it runs when the "
                "broker is back.",
                messages.WARNING,
            )


class PresenceFilter(admin.SimpleListFilter):
    """Who is inside now, who left, whose admission or check-out is being decided."""

    title = "presence"
    parameter_name = "presence"
    _STATES = {
        "inside": ("Inside now", [CheckIn.State.INSIDE]),
        "out": ("Left (or never got in)", [CheckIn.State.OUT]),
        "deciding": ("Being decided", [CheckIn.State.ENTERING, CheckIn.State.LEAVING]),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _states) in self._STATES.items()]

    def queryset(self, request, queryset):
        chosen = self._STATES.get(self.value() or "")
        return queryset.filter(state__in=chosen[1]) if chosen else queryset


@admin.register(CheckIn)
class CheckInAdmin(PrefetchNotJoinMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The check-in records, read-only: they change only through check-in and check-out."""

    list_display = [
        "participant_name",
        "session",
        "inside_now",
        "state",
        "checked_in_at",
        "checked_out_at",
        "source",
    ]
    list_filter = [PresenceFilter, "session", "source"]
    list_prefetch_related = ["participant", "session"]
    search_fields = ["participant__full_name", "participant__email", "participant__ticket_code"]
    date_hierarchy = "checked_in_at"

    @admin.display(description="participant")
    def participant_name(self, record: CheckIn) -> str:
        return record.participant.full_name

    @admin.display(description="inside now", boolean=True)
    def inside_now(self, record: CheckIn) -> bool:
        return record.is_inside


class ReasonFilter(admin.SimpleListFilter):
    """The verdicts in words ("Session full"), as the door shows them."""

    title = "verdict"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(reason.value, capfirst(label)) for reason, label in LABELS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(reason=self.value()) if self.value() else queryset


@admin.register(Scan)
class ScanAdmin(PrefetchNotJoinMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The scan log, read-only: every check-in and check-out attempt and its verdict."""

    # Few, narrow columns: the log must fit a 1366 px wide laptop screen beside the admin's
    # sidebar and the filters (the source is a filter; who scanned tells it too).
    list_display = ["when", "session", "who", "verdict", "scanned_by"]

    class Media:
        css = {"all": ["sessions_app/scan_log.css"]}

    list_filter = ["session", ReasonFilter, "direction", "source", "device", "created_at"]
    list_prefetch_related = ["session"]
    search_fields = ["ticket_code", "participant_name"]
    date_hierarchy = "created_at"

    @admin.display(description="when", ordering="created_at")
    def when(self, scan: Scan) -> str:
        """The server's time; a scan sent late also shows when the device scanned it."""
        decided = staff_time(scan.created_at, seconds=True)
        if scan.scanned_at is None:
            return decided
        scanned = staff_time(scan.scanned_at, seconds=True)
        return format_html("{}<br><small>scanned {}</small>", decided, scanned)

    @admin.display(description="participant", ordering="participant_name")
    def who(self, scan: Scan) -> str:
        return scan.participant_name or scan.ticket_code or "-"

    @admin.display(description="scanned by", ordering="actor")
    def scanned_by(self, scan: Scan) -> str:
        """The user, or the paired door device (its name as it was when it scanned)."""
        return f"{scan.device_name} (device)" if scan.device_name else scan.actor

    @admin.display(description="verdict", ordering="reason")
    def verdict(self, scan: Scan) -> str:
        words = capfirst(LABELS.get(scan.reason, "being decided"))
        replayed = " (repeat)" if scan.replayed else ""
        text = f"{scan.get_direction_display()}: {words}{replayed}"
        if not scan.annuls_id:
            return text
        url = reverse("admin:sessions_app_scan_change", args=[scan.annuls_id])
        return format_html('{}<br><small><a href="{}">the scan undone</a></small>', text, url)

    @admin.display(description="undone by")
    def undone_by(self, scan: Scan) -> str:
        """The undo that annulled this scan, if any (the detail page)."""
        undo = scan.annulled_by.filter(reason="annulled", replayed=False).first()
        if undo is None:
            return "-"
        url = reverse("admin:sessions_app_scan_change", args=[undo.pk])
        return format_html(
            '<a href="{}">undone at {}</a>', url, staff_time(undo.created_at, seconds=True)
        )

    readonly_fields = ["undone_by"]


@admin.register(ScanConflict)
class ScanConflictAdmin(ScanAdmin):
    """Conflicts: offline scans synced by a door that the server disagreed with, never hidden.

    Each names the person (or the unknown ticket), the session, the door and what clashed
    (``verdicts.Conflict``); shown to those who may read the scan log.
    """

    list_display = ["when", "session", "who", "conflict_in_words", "scanned_by", "lease_link"]
    list_filter = ["session", "conflict", "device", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(conflict__gt="")

    def has_view_permission(self, request, obj=None):
        return user_can_see_scan_log(request.user)

    def has_module_permission(self, request):
        return user_can_see_scan_log(request.user)

    @admin.display(description="conflict", ordering="conflict")
    def conflict_in_words(self, scan: Scan) -> str:
        return capfirst(CONFLICT_LABELS.get(scan.conflict, scan.conflict))

    @admin.display(description="lease")
    def lease_link(self, scan: Scan) -> str:
        if not scan.lease_id:
            return "-"
        url = reverse("admin:sessions_app_lease_change", args=[scan.lease_id])
        return format_html('<a href="{}">the lease</a>', url)


@admin.register(Lease)
class LeaseAdmin(PrefetchNotJoinMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Leases of places held by doors for offline scanning (services/leases.py), read-only."""

    list_display = [
        "holder", "session", "state", "granted", "used", "returned", "expires", "last_sync",
    ]  # fmt: skip
    list_filter = ["state", "session", "device"]
    list_prefetch_related = ["session"]
    search_fields = ["holder"]

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, lease: Lease) -> str:
        return staff_time(lease.expires_at, seconds=True)

    @admin.display(description="last sync", ordering="last_sync_at")
    def last_sync(self, lease: Lease) -> str:
        return staff_time(lease.last_sync_at, seconds=True) if lease.last_sync_at else "-"
