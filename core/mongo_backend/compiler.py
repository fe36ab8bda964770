"""The backend's compilers, with a joined table's projected fields in dot notation.

Every query is built by ``build_query()``; its ``$project`` (``project_fields``) and
``$addFields`` (``extra_fields``) group a joined table's fields under the table's alias as a
nested document. Only those groups are rewritten (``{"T2": {"title": 1}}`` becomes
``{"T2.title": 1}``); annotations and expressions are left as they are. ``$group`` keys are not
touched: there a nested document is an expression, as the backend means it.
"""

from django_mongodb_backend import compiler as mongo


def dotted_joined_fields(fields: dict | None, *, joined_aliases: set[str]) -> dict | None:
    """Return ``fields`` with each joined alias's nested document spelled as dotted paths."""
    if not fields:
        return fields
    dotted = {}
    for key, value in fields.items():
        if key in joined_aliases and isinstance(value, dict):
            dotted.update({f"{key}.{name}": spec for name, spec in value.items()})
        else:
            dotted[key] = value
    return dotted


class DottedJoinsMixin:
    def build_query(self, columns=None):
        query = super().build_query(columns)
        joined = {alias for alias in self.query.alias_map if alias != self.collection_name}
        if joined:
            query.project_fields = dotted_joined_fields(query.project_fields, joined_aliases=joined)
            query.extra_fields = dotted_joined_fields(query.extra_fields, joined_aliases=joined)
        return query


class SQLCompiler(DottedJoinsMixin, mongo.SQLCompiler):
    pass


class SQLInsertCompiler(mongo.SQLInsertCompiler):
    pass


class SQLDeleteCompiler(DottedJoinsMixin, mongo.SQLDeleteCompiler):
    pass


class SQLUpdateCompiler(DottedJoinsMixin, mongo.SQLUpdateCompiler):
    pass


class SQLAggregateCompiler(DottedJoinsMixin, mongo.SQLAggregateCompiler):
    pass
