"""Model fields of the participants app."""

from django.db import models


def email_normalize(value):
    """The one e-mail rule: compare and store addresses trimmed and in lower case."""
    return value.strip().lower() if isinstance(value, str) else value


class LowercaseEmailField(models.EmailField):
    """Store, validate and look up e-mail addresses in lower case.

    Uniqueness then holds case-insensitively through the plain unique index (MongoDB has no
    expression indexes through this backend), and every lookup, including the one behind a
    form's unique check, matches regardless of the case a user typed.
    """

    def to_python(self, value):
        return email_normalize(super().to_python(value))

    def get_prep_value(self, value):
        return email_normalize(super().get_prep_value(value))

    def pre_save(self, model_instance, add):
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value
