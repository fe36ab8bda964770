# The "system" source: check-outs made when a session's admission window ends.

from django.db import migrations, models

CHOICES = [("api", "API"), ("admin", "Admin"), ("door", "Door page"), ("system", "System (session ended)")]


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0007_live_version'),
    ]

    operations = [
        migrations.AlterField(
            model_name='checkin',
            name='source',
            field=models.CharField(choices=CHOICES, default='api', max_length=8),
        ),
        migrations.AlterField(
            model_name='scan',
            name='source',
            field=models.CharField(choices=CHOICES, max_length=8),
        ),
    ]
