"""Model mixins shared by the apps (no models: core has none)."""

from __future__ import annotations


class ServiceFieldsMixin:
    """Keep ``save()`` from writing fields that only conditional updates may change.

    A full save writes every field with the values the instance loaded; for a counter or a
    tombstone that would silently undo a concurrent conditional update. List such fields in
    ``SERVICE_FIELDS``: an existing document's save leaves them alone (a new one writes its
    defaults).
    """

    SERVICE_FIELDS: frozenset[str] = frozenset()

    def save(self, *args, update_fields=None, **kwargs):
        if not self._state.adding and update_fields is None:
            update_fields = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.SERVICE_FIELDS
            ]
        elif update_fields is not None:
            update_fields = [name for name in update_fields if name not in self.SERVICE_FIELDS]
        super().save(*args, update_fields=update_fields, **kwargs)
