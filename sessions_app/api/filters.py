"""Filters of the sessions API (django-filter); search and ordering are on the viewsets."""

import django_filters

from ..models import CheckIn, Session


class SessionFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Session.Status.choices, help_text="One or more statuses (repeat the parameter)."
    )
    starts_after = django_filters.IsoDateTimeFilter(
        field_name="starts_at", lookup_expr="gte", help_text="Sessions starting at or after."
    )
    starts_before = django_filters.IsoDateTimeFilter(
        field_name="starts_at", lookup_expr="lte", help_text="Sessions starting at or before."
    )

    class Meta:
        model = Session
        fields = ["status", "starts_after", "starts_before"]


class CheckInFilter(django_filters.FilterSet):
    inside = django_filters.BooleanFilter(
        field_name="checked_out_at",
        lookup_expr="isnull",
        help_text="true: inside now; false: checked out.",
    )
    source = django_filters.ChoiceFilter(choices=CheckIn.Source.choices)

    class Meta:
        model = CheckIn
        fields = ["inside", "source"]
