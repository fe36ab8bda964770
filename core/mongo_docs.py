"""Models to and from raw MongoDB documents, exactly as django-mongodb-backend reads and writes them.

For the door's hot path, which talks to a collection through pymongo (``connection.get_collection``)
where the ORM's form of the same command costs more: the ORM's ``filter(pk=...).first()`` is an
aggregate (``$match``, ``$sort``, ``$limit``) and ``save(force_insert=True)`` runs the whole save
machinery around one ``insert``. The conversions here are the backend's own, so an instance read
here equals the ORM's, and a document written here is the one the ORM would write
(``tests/core/test_mongo_docs.py`` compares every field both ways).
"""

from __future__ import annotations

from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model


@lru_cache(maxsize=256)
def _readers(model: type[Model], db) -> tuple[list[str], list[tuple[str, object, list]]]:
    """Per concrete field: its column, its column expression and its converters, in ORM order.

    The ORM's compiler applies the backend's converters first, then the field's own
    (``SQLCompiler.get_converters``). Kept per connection (one per thread): the backend's
    converters are methods of its connection's ``ops``.
    """
    fields = model._meta.concrete_fields
    readers = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        converters = db.ops.get_db_converters(column) + column.get_db_converters(db)
        readers.append((field.column, column, converters))
    return [field.attname for field in fields], readers


def model_from_doc(model: type[Model], doc: dict) -> Model:
    """Return the instance the ORM would build from ``doc`` (a whole document of the model).

    A field missing from the document reads as None, as in the ORM's projection.
    """
    db = connections[DEFAULT_DB_ALIAS]
    attnames, readers = _readers(model, db)
    values = []
    for column_name, column, converters in readers:
        value = doc.get(column_name)
        for converter in converters:
            value = converter(value, column, db)
        values.append(value)
    return model.from_db(DEFAULT_DB_ALIAS, attnames, values)


def doc_for_insert(instance: Model) -> dict:
    """Return the document the ORM's ``save(force_insert=True)`` of ``instance`` would insert.

    The instance's primary key must be set (the caller chooses the ``_id``). As the backend's
    insert compiler: every local concrete field's ``pre_save`` then ``get_db_prep_save``, under
    its column. Signals are not sent: only for models with no save receivers.
    """
    if instance.pk is None:
        raise ValueError("doc_for_insert needs the primary key set")
    return {
        field.column: field.get_db_prep_save(field.pre_save(instance, True), connection=connection)
        for field in instance._meta.local_concrete_fields
    }
