"""Staff UI for participants: search, their check-ins (read-only), door actions."""

from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from sessions_app.groups import user_can_check_in
from sessions_app.models import CheckIn, Session
from sessions_app.services import session_check_in, session_check_out

from . import services
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
    session = forms.ModelChoiceField(
        queryset=Session.objects.filter(status=Session.Status.OPEN),
        empty_label=None,
        help_text="Only open sessions accept check-ins.",
    )


def _summary(verdicts) -> str:
    counts = Counter(verdict.reason.value.replace("_", " ") for verdict in verdicts)
    return ", ".join(f"{reason}: {n}" for reason, n in sorted(counts.items()))


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["full_name", "email", "organization", "ticket_code", "created_at"]
    search_fields = ["full_name", "email", "ticket_code"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [CheckInInline]
    actions = ["check_in_to_session", "check_out"]

    def has_check_in_permission(self, request):
        return user_can_check_in(request.user)

    @admin.action(description="Check in to session…", permissions=["check_in"])
    def check_in_to_session(self, request, queryset):
        """Ask for the session (intermediate page), then check each participant in."""
        participants = list(queryset)
        form = ChooseSessionForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            session = form.cleaned_data["session"]
            verdicts = [
                session_check_in(
                    session_id=session.pk,
                    participant_id=p.pk,
                    source=CheckIn.Source.ADMIN,
                    actor=request.user.get_username(),
                )
                for p in participants
            ]
            admitted = sum(v.ok for v in verdicts)
            self.message_user(
                request,
                f"{session}: {_summary(verdicts)} (now {verdicts[-1].check_in_count}/"
                f"{verdicts[-1].capacity}).",
                messages.SUCCESS if admitted == len(verdicts) else messages.WARNING,
            )
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

    @admin.action(description="Check out (of every session they are in)", permissions=["check_in"])
    def check_out(self, request, queryset):
        """Check the selected participants out of every session they are inside."""
        verdicts = []
        for participant in queryset:
            inside = CheckIn.objects.filter(
                participant_id=participant.pk, state=CheckIn.State.INSIDE
            )
            for session_id in inside.values_list("session_id", flat=True):
                verdicts.append(
                    session_check_out(
                        session_id=session_id,
                        participant_id=participant.pk,
                        source=CheckIn.Source.ADMIN,
                        actor=request.user.get_username(),
                    )
                )
        if verdicts:
            self.message_user(request, _summary(verdicts), messages.SUCCESS)
        else:
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
