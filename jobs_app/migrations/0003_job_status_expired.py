from django.db import migrations, models


class Migration(migrations.Migration):
    """A preview not confirmed in time is "expired" (the choices only; no stored data changes)."""

    dependencies = [
        ("jobs_app", "0002_job"),
    ]

    operations = [
        migrations.AlterField(
            model_name="job",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Awaiting confirmation"),
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                    ("expired", "Preview expired"),
                ],
                default="pending",
                max_length=8,
            ),
        ),
    ]
