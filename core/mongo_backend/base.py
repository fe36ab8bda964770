"""The database wrapper: django-mongodb-backend's, with this package's compilers."""

from django_mongodb_backend.base import DatabaseWrapper as MongoDatabaseWrapper
from django_mongodb_backend.operations import DatabaseOperations as MongoDatabaseOperations
from pymongo.collection import Collection

from .lookups import register_lookups

register_lookups()  # a one-column TupleIn (prefetch_related) as an indexed $in (lookups.py)


class DatabaseOperations(MongoDatabaseOperations):
    compiler_module = "core.mongo_backend.compiler"


class DatabaseWrapper(MongoDatabaseWrapper):
    """Select ``core.mongo_backend`` as ``ENGINE`` to write joined fields in dot notation.

    ``get_collection`` keeps one pymongo ``Collection`` per name: the backend built a new one for
    every query and the hot path's own commands (about 9 per check-in, each copying the
    database's codec options, read preference, write and read concern). A ``Collection`` is
    immutable (``with_options`` returns a new one); the copies follow the wrapper's ``database``,
    so a closed and reopened client gets new ones, and with queries logged (``DEBUG``) or options
    given the backend's own path runs as before.
    """

    ops_class = DatabaseOperations

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._collections: dict[str, Collection] = {}

    def get_collection(self, name, **kwargs):
        if kwargs or self.queries_logged:
            return super().get_collection(name, **kwargs)
        database = self.database
        collection = self._collections.get(name)
        if collection is None or collection.database is not database:
            collection = self._collections[name] = Collection(database, name)
        return collection
