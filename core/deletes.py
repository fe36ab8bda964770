"""Delete a document that requests may be about to reference, without leaving strays behind."""

from __future__ import annotations

from django.db import models
from django.db.models import ProtectedError


def delete_with_tombstone(instance: models.Model) -> None:
    """Delete ``instance`` (a model with a ``deleting`` flag), or raise ``ProtectedError``.

    The flag is set before Django looks for protected references, and a request that is about
    to add one checks the flag after adding it: one of the two always sees the other. If the
    delete is refused, the flag is cleared again.
    """
    manager = type(instance)._default_manager
    manager.filter(pk=instance.pk).update(deleting=True)
    try:
        instance.delete()
    except ProtectedError:
        manager.filter(pk=instance.pk).update(deleting=False)
        raise
