"""Output of the jobs API: a job's status, progress and report."""

from rest_framework import serializers

from core.api.schema import reason_response

from ..models import Job


class JobErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line in the file (the header is line 1).")
    email = serializers.CharField(
        required=False, help_text="Left out once the report's personal data was removed."
    )
    messages = serializers.ListField(child=serializers.CharField())


class JobOutputSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    percent = serializers.FloatField(read_only=True, help_text="done / total, in percent.")
    errors = serializers.SerializerMethodField(
        help_text="Rows that failed, with their line numbers (the first 1,000)."
    )
    errors_total = serializers.SerializerMethodField()
    preview_counts = serializers.SerializerMethodField(
        help_text="What the preview said each row would do: create, update, unchanged, error."
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "title",
            "status",
            "status_label",
            "total",
            "done",
            "percent",
            "created",
            "updated",
            "unchanged",
            "failed",
            "errors",
            "errors_total",
            "error",
            "preview_counts",
            "started_by",
            "created_at",
            "queued_at",
            "started_at",
            "finished_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_errors(self, job: Job) -> list[dict]:
        report = job.report or {}
        return JobErrorSerializer(report.get("errors", report.get("invalid", [])), many=True).data

    def get_errors_total(self, job: Job) -> int:
        report = job.report or {}
        return report.get("errors_total", report.get("invalid_total", 0))

    def get_preview_counts(self, job: Job) -> dict[str, int]:
        return ((job.report or {}).get("preview") or {}).get("counts", {})


JOB_NOT_FOUND = reason_response(
    status=404,
    name="JobNotFound",
    reason="job_not_found",
    description='Unknown or malformed id, or a job of someone else: `{"detail": ..., '
    '"reason": "job_not_found"}`.',
)
