"""Model fields of the participants app."""

import unicodedata

from django.db import models


def _domain_ascii(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid domain: left as typed, the e-mail validator refuses it
        return domain


def email_normalize(value):
    """The one e-mail rule: compare and store addresses in one spelling per mailbox.

    Trimmed, Unicode NFC (a decomposed "u" + diaeresis is the same letter as "ü"), in lower case,
    the domain in its ASCII (IDNA) form: ``dup@bücher.example`` and ``dup@xn--bcher-kva.example``
    are one mailbox. The local part is lower-cased (mail providers ignore its case; the unique
    index needs one spelling) but otherwise kept: dots and "+tags" mean different mailboxes at
    some providers, so they are never removed.
    """
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFC", value.strip()).lower()
    local, at, domain = text.rpartition("@")
    if not at or not domain:
        return text
    return f"{local}@{_domain_ascii(domain)}"


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


def ticket_code_normalize(value):
    """The one ticket-code rule: compare and store codes trimmed and in upper case.

    Codes are read out and typed at a door; "uma-0001 " and "UMA-0001" are the same ticket.
    """
    return value.strip().upper() if isinstance(value, str) else value


class TicketCodeField(models.CharField):
    """Store and look up ticket codes normalised, so the plain unique index (and every equality
    lookup, which stays an indexed one) ignores case and surrounding spaces."""

    def to_python(self, value):
        return ticket_code_normalize(super().to_python(value))

    def get_prep_value(self, value):
        return ticket_code_normalize(super().get_prep_value(value))

    def pre_save(self, model_instance, add):
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value
