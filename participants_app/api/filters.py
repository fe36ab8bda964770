"""Filters of the participants API (django-filter)."""

import django_filters
from django.db.models.functions import Lower

from ..models import Participant


class ParticipantFilter(django_filters.FilterSet):
    # Case-insensitive equality without ``iexact``: django-mongodb-backend 5.2.4 turns iexact into
    # a regular expression without escaping the value (``?x`` was a 500, ``a.c`` matched "abc").
    organization = django_filters.CharFilter(method="_organization")
    ticket_code = django_filters.CharFilter()
    email = django_filters.CharFilter(method="_email")

    class Meta:
        model = Participant
        fields = ["organization", "ticket_code", "email"]

    def _organization(self, queryset, name, value):
        return queryset.alias(organization_lower=Lower("organization")).filter(
            organization_lower=value.lower()
        )

    def _email(self, queryset, name, value):
        return queryset.filter(email=value.strip().lower())  # stored lower case
