"""django-mongodb-backend with joined fields written in dot notation (``ENGINE``: this package).

The backend writes the fields of a joined table as a nested document in ``$project`` and
``$addFields``: ``{"$addFields": {"django_content_type": {"app_label":
"$django_content_type.app_label"}}}`` (for ordering on a related field) or ``{"$project":
{"T2": {"title": 1}}}``. MongoDB reads a nested document there as a sub-projection, the same as
the dotted form ``{"django_content_type.app_label": ...}``: ``$addFields`` merges into the joined
document, ``1`` includes the field. The SecantusDB stand-in (0.7.0b3) reads it as an object
expression instead: ``$addFields`` replaces the joined document (its ``_id`` is gone, so
``select_related()`` gives no related object: Django's user and group admin answered 500) and
``$project`` turns ``1`` into the number 1. The dotted form means the same on MongoDB and is
read correctly by the stand-in, so this backend always writes it (see ``compiler.py``).

A one-column ``TupleIn`` (``prefetch_related`` of a foreign key) is written as an indexed
``{"_id": {"$in": [...]}}`` rather than an ``$expr`` (see ``lookups.py``).
"""
