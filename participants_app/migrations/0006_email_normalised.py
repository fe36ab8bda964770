"""Normalise stored e-mails (NFC, IDNA domain); report the clashing ones, never merge them."""

import logging

from django.db import migrations

logger = logging.getLogger("participants_app.migrations")


def normalise(apps, schema_editor):
    from participants_app.email_duplicates import (  # noqa: PLC0415 - the rule as of now
        email_clashes_describe,
        email_normalize_stored,
    )

    model = apps.get_model("participants_app", "Participant")
    changed, clashes = email_normalize_stored(model, write=True)
    for line in email_clashes_describe(clashes):
        message = f"Duplicate mailbox left unchanged: {line}"
        logger.warning(message)
        print(f"  {message}")  # noqa: T201 - migrate's output is where an operator sees it
    if changed or clashes:
        print(f"  Normalised {changed} e-mail(s); {len(clashes)} clashing group(s) reported.")  # noqa: T201


class Migration(migrations.Migration):
    dependencies = [("participants_app", "0005_import_chunks_email_index")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
