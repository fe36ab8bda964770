"""Filter backends shared by the APIs."""

from rest_framework import filters
from rest_framework.exceptions import ValidationError


class SearchFilter(filters.SearchFilter):
    """DRF's SearchFilter whose bad ``search`` value is a field error like any other parameter's.

    DRF answers ``?search=a%00`` with a bare list (``["Null characters are not allowed."]``),
    which is not DRF's field-error shape that the schema documents for 400.
    """

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as error:
            raise ValidationError({self.search_param: error.detail}) from error
