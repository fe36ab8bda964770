"""Staff UI for participants: search, their check-ins (read-only), door actions.

Their check-ins (an inline: Django shows it with ``view`` on check-ins) and their scan history
(``view`` on scans, sessions_app/access.py) follow the sessions' page's rule.
"""

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from core.exceptions import NotFoundError, NotFoundReason
from sessions_app.access import user_can_see_scan_log
from sessions_app.admin_history import participant_scan_history
from sessions_app.groups import user_can_check_in
from sessions_app.models import CheckIn, Session
from sessions_app.services import session_check_in, session_check_out
from sessions_app.verdicts import LABELS, Reason

from . import services
from .exports import export_participants_action
from .imports.admin import ParticipantImportAdminMixin
from .models import Participant
from .services import EDITABLE_FIELDS


class CheckInInline(admin.TabularInline):
    """A participant's check-ins; read-only (they change only through check-in/check-out)."""

    model = CheckIn
    fields = ["session", "state", "checked_in_at", "checked_out_at", "source"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ChooseSessionForm(forms.Form):
    """Offer the open sessions; accept any session that still exists.

    What the organiser chose stays chosen: a session that closed while the form was open is
    answered by the check-in service (``not open``: nobody is checked in, anywhere), never swapped
    for another one. A session deleted meanwhile is a form error, and nothing is preselected.
    """

    session = forms.ModelChoiceField(
        queryset=Session.objects.all(),
        empty_label="— choose a session —",
        help_text="Only open sessions accept check-ins.",
        error_messages={
            "invalid_choice": "This session no longer exists. Nobody was checked in; choose again."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["session"]
        open_sessions = Session.objects.filter(status=Session.Status.OPEN)
        field.widget.choices = [("", field.empty_label)] + [
            (str(s.pk), str(s)) for s in open_sessions
        ]


def _names(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


def _label(verdict) -> str:
    return LABELS[verdict.reason]


def _check_in_report(admin, request, session, outcomes) -> None:
    """Say who got in, who was inside already, and — as an error — who was refused and why."""
    verdicts = [v for _name, v in outcomes if v is not None]
    admitted = [name for name, v in outcomes if v is not None and v.reason == Reason.CHECKED_IN]
    inside = [
        name for name, v in outcomes if v is not None and v.reason == Reason.ALREADY_CHECKED_IN
    ]
    refused = [
        f"{name} ({_label(v) if v is not None else 'no longer exists'})"
        for name, v in outcomes
        if v is None or not v.inside
    ]
    now = f" (now {verdicts[-1].check_in_count}/{verdicts[-1].capacity})" if verdicts else ""
    if verdicts and all(v.reason == Reason.SESSION_NOT_OPEN for v in verdicts):
        status = Session.objects.filter(pk=session.pk).values_list("status", flat=True).first()
        admin.message_user(
            request,
            f"Nobody was checked in: {session} is not open ({status}). Nobody was checked in to "
            "any other session either; choose an open session.",
            messages.ERROR,
        )
        return
    if admitted:
        admin.message_user(
            request, f"Checked in to {session}: {_names(admitted)}{now}.", messages.SUCCESS
        )
    if inside:
        admin.message_user(request, f"Already inside {session}: {_names(inside)}.", messages.INFO)
    if refused:
        admin.message_user(
            request, f"Refused at {session}{now}: {_names(refused)}.", messages.ERROR
        )


@admin.register(Participant)
class ParticipantAdmin(ParticipantImportAdminMixin, admin.ModelAdmin):
    list_display = ["full_name", "email", "organization", "ticket_code", "created_at"]
    search_fields = ["full_name", "email", "ticket_code"]
    readonly_fields = ["created_at", "updated_at", "scans"]
    inlines = [CheckInInline]
    actions = ["check_in_to_session", "check_out", export_participants_action]

    def get_fields(self, request, obj=None):
        """Show the scan history only to those the scan log is shown to (the sessions' rule)."""
        fields = super().get_fields(request, obj)
        if user_can_see_scan_log(request.user):
            return fields
        return [field for field in fields if field != "scans"]

    @admin.display(description="scans across sessions")
    def scans(self, participant: Participant) -> str:
        return participant_scan_history(participant)

    def has_check_in_permission(self, request):
        return user_can_check_in(request.user)

    @admin.action(description="Check in to session…", permissions=["check_in"])
    def check_in_to_session(self, request, queryset):
        """Ask for the session (intermediate page), then check each participant in."""
        participants = list(queryset)
        form = ChooseSessionForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            session = form.cleaned_data["session"]
            outcomes = []
            try:
                for participant in participants:
                    outcomes.append(
                        (participant.full_name, self._check_in(request, session, participant))
                    )
            except NotFoundError:  # deleted after the form was checked (it had no check-ins)
                self.message_user(
                    request, f"{session} no longer exists: nobody was checked in.", messages.ERROR
                )
                return None
            _check_in_report(self, request, session, outcomes)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Check in to session",
            "opts": self.model._meta,
            "participants": participants,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/participants_app/participant/check_in_to_session.html", context
        )

    @staticmethod
    def _check_in(request, session, participant):
        """Check one participant in; None if the participant was deleted meanwhile."""
        try:
            return session_check_in(
                session_id=session.pk,
                participant_id=participant.pk,
                source=CheckIn.Source.ADMIN,
                actor=request.user.get_username(),
            )
        except NotFoundError as exc:
            if exc.reason == NotFoundReason.PARTICIPANT_NOT_FOUND:
                return None
            raise

    @admin.action(description="Check out (of every session they are in)", permissions=["check_in"])
    def check_out(self, request, queryset):
        """Check the selected participants out of every session they are inside; say which."""
        left: dict[str, list[str]] = defaultdict(list)
        counts: dict[str, str] = {}
        refused = []
        for participant in queryset:
            inside = CheckIn.objects.filter(
                participant_id=participant.pk, state=CheckIn.State.INSIDE
            )
            for session_id in inside.values_list("session_id", flat=True):
                try:
                    verdict = session_check_out(
                        session_id=session_id,
                        participant_id=participant.pk,
                        source=CheckIn.Source.ADMIN,
                        actor=request.user.get_username(),
                    )
                except NotFoundError:  # deleted meanwhile: nobody is inside it any more
                    continue
                if verdict.reason == Reason.CHECKED_OUT:
                    left[verdict.session_title].append(participant.full_name)
                    counts[verdict.session_title] = f"{verdict.check_in_count}/{verdict.capacity}"
                elif verdict.reason != Reason.NOT_CHECKED_IN:
                    refused.append(
                        f"{participant.full_name} at {verdict.session_title} ({_label(verdict)})"
                    )
        for title, names in left.items():
            self.message_user(
                request,
                f"Checked out of {title}: {_names(names)} (now {counts[title]}).",
                messages.SUCCESS,
            )
        if refused:
            self.message_user(request, f"Not checked out: {_names(refused)}.", messages.ERROR)
        if not left and not refused:
            self.message_user(request, "None of them was checked in.", messages.INFO)

    def save_model(self, request, obj, form, change):
        """Save through the services (duplicate checks, cache invalidation)."""
        data = {field: form.cleaned_data[field] for field in EDITABLE_FIELDS}
        try:
            if change:
                saved = services.participant_update(
                    participant=Participant.objects.get(pk=obj.pk), data=data
                )
            else:
                saved = services.participant_create(**data)
        except ValidationError as exc:  # lost a race with a concurrent write
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.participant_delete(participant=obj)

    def delete_queryset(self, request, queryset):
        for participant in queryset:
            services.participant_delete(participant=participant)
