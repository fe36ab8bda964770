"""The organiser's desk: the admin site with the sessions first, the way to the door page, a
banner naming what runs degraded (and since when), and a readable health page."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse

from health_app.degraded import degraded_components, health_rows
from health_app.probes import error_texts_for
from health_app.selectors import health_report
from sessions_app.groups import user_can_check_in

# Apps in the order organisers need them; the others follow alphabetically.
APP_ORDER = ("sessions_app", "participants_app")
# What keeps the system running rather than the event's data (sign-in lockout, schedules, jobs,
# API tokens): listed last, under "Operations", out of an organiser's way.
OPERATIONS_APPS = ("axes", "django_celery_beat", "jobs_app", "authtoken")


class CheckinAdminSite(admin.AdminSite):
    site_header = "Event check-in"
    site_title = "Event check-in"
    index_title = "Organiser's desk"
    site_url = "/door/"  # "View site": the door page, where check-in happens

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        rank = {label: position for position, label in enumerate(APP_ORDER)}

        def place(app):
            operations = app["app_label"] in OPERATIONS_APPS
            return (operations, rank.get(app["app_label"], len(rank)))

        return sorted(apps, key=place)

    def index(self, request, extra_context=None):
        """List the event's data first; the operational apps under their own heading, last."""
        apps = self.get_app_list(request)
        context = {
            "app_list": [app for app in apps if app["app_label"] not in OPERATIONS_APPS],
            "operations_app_list": [app for app in apps if app["app_label"] in OPERATIONS_APPS],
            **(extra_context or {}),
        }
        return super().index(request, context)

    def each_context(self, request):
        context = super().each_context(request)
        user = request.user
        signed_in_staff = user.is_active and user.is_staff
        with error_texts_for(user):  # staff read the masked error texts, as on /health
            context["degraded_components"] = degraded_components() if signed_in_staff else []
        context["door_url"] = reverse("door:page") if user_can_check_in(user) else None
        context["board_url"] = reverse("live:board") if user_can_check_in(user) else None
        context["doors_url"] = reverse("live:doors") if user_can_check_in(user) else None
        return context

    def get_urls(self):
        return [
            path("health/", self.admin_view(self.health_view), name="health"),
            *super().get_urls(),
        ]

    def health_view(self, request):
        """Show the health report (the same as /health) as a page a person reads."""
        with error_texts_for(request.user):  # staff read the masked error texts, as on /health
            report = health_report()
            rows = health_rows(report)
        context = {
            **self.each_context(request),
            "title": "System health",
            "status": report.status,
            "rows": rows,
            "checked_at": report.time,
        }
        return TemplateResponse(request, "admin/health.html", context)
