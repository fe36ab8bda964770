"""A one-column ``TupleIn`` as an ``$in`` on the field's path, as ``field__in`` is written.

Django 5.2's ``prefetch_related`` of a foreign key filters the related model by
``TupleIn(ColPairs(...), [(id,), ...])``. django-mongodb-backend (5.2) cannot write a ``TupleIn``
as a path, so it wrote ``{"$expr": {"$in": ["$_id", [...]]}}``: MongoDB uses no index for an
``$in`` inside ``$expr`` (nor does the stand-in), so every prefetch read the whole related
collection (all participants, for a page of check-in records). With one column the lookup means
``{"_id": {"$in": [...]}}``, which the ``_id`` index answers; that is written here. Several columns,
a subquery, or an expression context (``as_expr``) are left to the backend as before.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models.expressions import ColPairs
from django.db.models.fields.tuple_lookups import TupleIn


def _one_column(lookup: TupleIn):
    """The lookup's only column, or None (several columns, or not plain columns)."""
    if not isinstance(lookup.lhs, ColPairs) or len(lookup.lhs) != 1:
        return None
    (col,) = lookup.lhs.get_cols()
    return col if getattr(col, "is_simple_column", False) else None


@property
def tuple_in_can_use_path(self) -> bool:
    return self.rhs_is_direct_value() and _one_column(self) is not None


def tuple_in_as_mql_path(self, compiler, connection):
    col = _one_column(self)
    values = [
        col.output_field.get_db_prep_value(vals[0], connection, prepared=False)
        for vals in self.rhs
        if vals[0] is not None  # NULL equals nothing, as in the backend's own form
    ]
    if not values:
        raise EmptyResultSet
    return {col.as_mql(compiler, connection): {"$in": values}}


def register_lookups() -> None:
    TupleIn.can_use_path = tuple_in_can_use_path
    TupleIn.as_mql_path = tuple_in_as_mql_path
