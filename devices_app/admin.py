"""The organiser's side of door devices: add one (its one-time pairing code and QR code are
shown once, never stored), see which are paired and when they were last seen, give a device a
new pairing code, revoke it."""

from __future__ import annotations

import segno
from bson import ObjectId
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .models import DoorDevice
from .selectors import PAIRED, REVOKED, device_state
from .services import (
    PAIRING_MINUTES,
    DeviceRevokedError,
    IssuedCode,
    device_pairing_code_new,
    device_revoke,
)


def _session_choices() -> list[tuple[str, str]]:
    # By name: sessions_app sits above this app (import-linter layers).
    session_model = apps.get_model("sessions_app", "Session")
    return [
        (str(pk), title)
        for pk, title in session_model.objects.order_by("starts_at").values_list("pk", "title")
    ]


class DoorDeviceForm(forms.ModelForm):
    """A device's name, place and scope: every session, or the sessions chosen."""

    sessions = forms.MultipleChoiceField(
        required=False,
        widget=FilteredSelectMultiple("sessions", is_stacked=False),
        help_text="The sessions it may scan at, unless it may scan at every session.",
    )

    class Meta:
        model = DoorDevice
        fields = ["name", "location", "all_sessions", "sessions"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sessions"].choices = _session_choices()
        self.initial["sessions"] = [str(pk) for pk in self.instance.session_ids]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("all_sessions") and not cleaned.get("sessions"):
            self.add_error("sessions", "Choose its sessions, or let it scan at every session.")
        return cleaned

    def save(self, commit=True):
        device = super().save(commit=False)
        chosen = self.cleaned_data.get("sessions") or []
        device.session_ids = [] if device.all_sessions else [ObjectId(pk) for pk in chosen]
        if commit:
            device.save()
        return device


@admin.register(DoorDevice)
class DoorDeviceAdmin(admin.ModelAdmin):
    form = DoorDeviceForm
    list_display = ["name", "location", "scope", "state", "last_seen_at", "paired_at"]
    search_fields = ["name", "location"]
    actions = ["new_pairing_code", "revoke_selected"]
    readonly_fields = [
        "state",
        "paired_at",
        "last_seen_at",
        "token_issued_at",
        "pairing_expires_at",
        "revoked_at",
        "created_at",
        "created_by",
    ]
    change_form_template = "admin/devices_app/doordevice/change_form.html"

    def get_fieldsets(self, request, obj=None):
        scope = (None, {"fields": ["name", "location", "all_sessions", "sessions"]})
        if obj is None:
            return [scope]
        return [scope, ("State", {"fields": self.readonly_fields})]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    @admin.display(description="sessions")
    def scope(self, device: DoorDevice) -> str:
        if device.all_sessions:
            return "all"
        count = len(device.session_ids)
        return f"{count} session{'s' if count != 1 else ''}"

    @admin.display(description="state")
    def state(self, device: DoorDevice) -> str:
        state = device_state(device)
        colour = {PAIRED: "#1a7f37", REVOKED: "#a40000"}.get(state, "#555")
        return format_html('<strong style="color:{}">{}</strong>', colour, state)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
        if not change:
            obj._issued = device_pairing_code_new(device=obj)

    def response_add(self, request, obj, post_url_continue=None):
        """Show the new device's pairing code at once: the only time it is ever shown."""
        return self._pairing_page(request, obj._issued)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/pairing/",
                self.admin_site.admin_view(self.pairing_view),
                name="devices_app_doordevice_pairing",
            ),
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="devices_app_doordevice_revoke",
            ),
            *super().get_urls(),
        ]

    def _device(self, request, object_id) -> DoorDevice:
        valid = ObjectId.is_valid(object_id)
        device = DoorDevice.objects.filter(pk=ObjectId(object_id)).first() if valid else None
        if device is None:
            raise Http404("No such device.")
        if not self.has_change_permission(request, device):
            raise PermissionDenied
        return device

    def _change_url(self, device: DoorDevice) -> str:
        return reverse("admin:devices_app_doordevice_change", args=[device.pk])

    def _pairing_page(self, request, issued: IssuedCode):
        qr = segno.make(issued.code.replace("-", ""), error="m")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Pairing code for {issued.device.name}",
            "device": issued.device,
            "code": issued.code,
            "expires_at": issued.expires_at,
            "minutes": PAIRING_MINUTES,
            "qr_svg": qr.svg_inline(scale=8, border=2),
            "change_url": self._change_url(issued.device),
            "pair_path": reverse("door:pair"),
        }
        return TemplateResponse(request, "admin/devices_app/doordevice/pairing.html", context)

    def pairing_view(self, request, object_id):
        """POST: give the device a new pairing code and show it (once)."""
        device = self._device(request, object_id)
        if request.method != "POST":
            return redirect(self._change_url(device))
        return self._new_code(request, device)

    def _new_code(self, request, device: DoorDevice):
        try:
            issued = device_pairing_code_new(device=device)
        except DeviceRevokedError:
            self.message_user(
                request, "A revoked device stays revoked: add a new device.", messages.ERROR
            )
            return redirect(self._change_url(device))
        return self._pairing_page(request, issued)

    def revoke_view(self, request, object_id):
        """POST: revoke the device (its token and code stop working at once)."""
        device = self._device(request, object_id)
        if request.method == "POST":
            self._revoke(request, [device])
        return redirect(self._change_url(device))

    def _revoke(self, request, devices) -> None:
        revoked = [device.name for device in devices if device_revoke(device=device)]
        if revoked:
            self.message_user(
                request,
                f"Revoked: {', '.join(revoked)}. Their next request is refused and their live "
                "view closes within seconds.",
            )
        else:
            self.message_user(request, "Already revoked.", messages.WARNING)

    @admin.action(description="New pairing code (one device)", permissions=["change"])
    def new_pairing_code(self, request, queryset):
        devices = list(queryset[:2])
        if len(devices) != 1:
            self.message_user(request, "Select exactly one device.", messages.WARNING)
            return None
        return self._new_code(request, devices[0])

    @admin.action(description="Revoke the selected devices", permissions=["change"])
    def revoke_selected(self, request, queryset):
        self._revoke(request, list(queryset))
