"""Filters of the participants API (django-filter)."""

import django_filters

from ..models import Participant


class ParticipantFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(lookup_expr="iexact")
    ticket_code = django_filters.CharFilter()
    email = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Participant
        fields = ["organization", "ticket_code", "email"]
