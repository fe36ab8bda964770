"""Create the "Door staff" group holding the ``check_in`` permission."""

from django.db import migrations


def create_group(apps, schema_editor):
    from sessions_app.groups import door_staff_group_ensure

    door_staff_group_ensure(apps=apps)


def delete_group(apps, schema_editor):
    from sessions_app.groups import DOOR_STAFF_GROUP

    apps.get_model("auth", "Group").objects.filter(name=DOOR_STAFF_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0001_initial"),
        ("auth", "0001_initial"),
        ("contenttypes", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
