"""The database wrapper: django-mongodb-backend's, with this package's compilers."""

from django_mongodb_backend.base import DatabaseWrapper as MongoDatabaseWrapper
from django_mongodb_backend.operations import DatabaseOperations as MongoDatabaseOperations


class DatabaseOperations(MongoDatabaseOperations):
    compiler_module = "core.mongo_backend.compiler"


class DatabaseWrapper(MongoDatabaseWrapper):
    """Select ``core.mongo_backend`` as ``ENGINE`` to write joined fields in dot notation."""

    ops_class = DatabaseOperations
