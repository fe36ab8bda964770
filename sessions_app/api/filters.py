"""Filters of the sessions API (django-filter); search and ordering are on the viewsets."""

import django_filters
from bson import ObjectId

from ..models import CheckIn, Scan, Session
from ..verdicts import Reason


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
    # A choice, not django-filter's BooleanFilter: that one reads "maybe" as "no filter" and
    # answers every row; an unknown value must be a 400 on ``inside``.
    inside = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
        method="filter_inside",
        help_text="true: inside now; false: left (or never got in).",
    )
    source = django_filters.ChoiceFilter(choices=CheckIn.Source.choices)

    class Meta:
        model = CheckIn
        fields = ["inside", "source"]

    def filter_inside(self, queryset, name, value):
        return queryset.filter(state=CheckIn.State.INSIDE if value else CheckIn.State.OUT)


class ScanFilter(django_filters.FilterSet):
    direction = django_filters.ChoiceFilter(choices=Scan.Direction.choices)
    reason = django_filters.ChoiceFilter(
        choices=[(r.value, r.value) for r in Reason], help_text="The verdict's reason code."
    )
    after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Scans at or after this time."
    )
    before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Scans before this time."
    )
    ticket_code = django_filters.CharFilter(help_text="Exactly this scanned ticket code.")
    participant = django_filters.CharFilter(
        method="filter_participant", help_text="A participant's id."
    )

    class Meta:
        model = Scan
        fields = ["direction", "reason", "after", "before", "ticket_code", "participant"]

    def filter_participant(self, queryset, name, value):
        if not ObjectId.is_valid(value):
            return queryset.none()
        return queryset.filter(participant_id=ObjectId(value))
