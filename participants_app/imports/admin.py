"""The admin's import pages: upload -> preview (line, action per row) -> confirm -> progress.

The pages call the same services as the API; the progress page's bar polls ``/api/jobs/<id>/``.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from jobs_app.models import Job
from jobs_app.selectors import JobNotFoundError, job_get_for_user

from .files import MAX_BYTES, MAX_ROWS, ImportFileError
from .retention import (
    PREVIEW_EXPIRED_MESSAGE,
    ROWS_REMOVED_KEY,
    ImportPreviewExpired,
    participant_import_expire,
    retention_phrase,
)
from .services import IMPORT_KIND, participant_import_confirm, participant_import_preview

IMPORT_PERMISSIONS = ("participants_app.add_participant", "participants_app.change_participant")


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file",
        help_text=f"At most {MAX_BYTES // (1024 * 1024)} MB and {MAX_ROWS:,} rows.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is too large: at most {MAX_BYTES // (1024 * 1024)} MB."
            )
        return upload


def user_can_import(user) -> bool:
    """Import creates and changes participants: both model permissions (the API's rule too)."""
    return bool(user and user.is_active and user.has_perms(IMPORT_PERMISSIONS))


class ParticipantImportAdminMixin:
    """Adds the import pages to the participants admin and an "Import" link to its list."""

    change_list_template = "admin/participants_app/participant/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="participants_app_participant_import"),
            path(
                "import/<str:job_id>/",
                view(self.import_preview_view),
                name="participants_app_participant_import_preview",
            ),
            path(
                "import/<str:job_id>/progress/",
                view(self.import_progress_view),
                name="participants_app_participant_import_progress",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {"can_import": user_can_import(request.user), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def _context(self, request, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            **extra,
        }

    def _job(self, request, job_id: str) -> Job:
        """Return the import (an overdue preview expired first: its time holds to the minute)."""
        if not user_can_import(request.user):
            raise PermissionDenied
        try:
            job = job_get_for_user(job_id=job_id, user=request.user, kind=IMPORT_KIND)
        except JobNotFoundError as exc:
            raise Http404("No such import.") from exc
        if participant_import_expire(job_id=job.pk):
            job.refresh_from_db()
        return job

    def _upload_again(self, request):
        messages.error(request, PREVIEW_EXPIRED_MESSAGE)
        return redirect("admin:participants_app_participant_import")

    def import_view(self, request):
        """Upload a file; a readable file leads to its preview."""
        if not user_can_import(request.user):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                preview = participant_import_preview(
                    content=upload.read(),
                    file_name=upload.name,
                    user_name=request.user.get_username(),
                )
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("admin:participants_app_participant_import_preview", preview.job.pk)
        context = self._context(
            request, "Import participants", form=form, max_mb=MAX_BYTES // (1024 * 1024)
        )
        context["max_rows"] = MAX_ROWS
        return TemplateResponse(request, "admin/participants_app/participant/import.html", context)

    def import_preview_view(self, request, job_id: str):
        """Show what each row would do; confirming queues the job and leads to its progress."""
        job = self._job(request, job_id)
        if job.status == Job.Status.EXPIRED:
            return self._upload_again(request)
        if request.method == "POST":
            try:
                job = participant_import_confirm(job=job)
            except ImportPreviewExpired:
                return self._upload_again(request)
            if job.status == Job.Status.QUEUED:
                self.message_user(request, "Import confirmed: queued for a worker.")
            return redirect("admin:participants_app_participant_import_progress", job.pk)
        if job.status != Job.Status.PENDING:
            return redirect("admin:participants_app_participant_import_progress", job.pk)
        preview = job.report.get("preview", {})
        context = self._context(
            request,
            f"Preview of {job.title}",
            job=job,
            preview=preview,
            counts=preview.get("counts", {}),
            shown=len(preview.get("rows", [])),
        )
        return TemplateResponse(
            request, "admin/participants_app/participant/import_preview.html", context
        )

    def import_progress_view(self, request, job_id: str):
        """A bar that follows the job (the page polls the job API) and, at the end, the errors."""
        job = self._job(request, job_id)
        if job.status == Job.Status.PENDING:
            messages.info(request, "This import waits for your confirmation.")
            return redirect("admin:participants_app_participant_import_preview", job.pk)
        if job.status == Job.Status.EXPIRED:
            return self._upload_again(request)
        report = job.report or {}
        context = self._context(
            request,
            f"Import of {job.title}",
            job=job,
            job_url=reverse("api:job-detail", args=[job.pk]),
            finished=job.status in (Job.Status.DONE, Job.Status.FAILED),
            errors=report.get("errors", report.get("invalid", [])),
            errors_total=report.get("errors_total", report.get("invalid_total", 0)),
            rows_removed=ROWS_REMOVED_KEY in report,
            rows_kept_for=retention_phrase(settings.IMPORT_REPORT_PII_HOURS),
        )
        return TemplateResponse(
            request, "admin/participants_app/participant/import_progress.html", context
        )
