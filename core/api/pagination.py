"""The API's page-number pagination: a bad page number is bad input (400), never a 404.

DRF answers ``?page=0`` or ``?page=x`` with 404 ``{"detail": "Invalid page."}``, which no list's
schema documents (and on lists whose 404 means "unknown session" it lacks the ``reason``). Here a
page that is not a whole number from 1 (or ``last``) is a 400 field error on ``page``, and a page
past the end is an empty page (200), as the schema says.
"""

from __future__ import annotations

from django.core.paginator import Page
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.utils.urls import replace_query_param

INVALID_PAGE = "A page number is a whole number from 1 (or 'last')."


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's PageNumberPagination with 400 for a malformed page and an empty page past the end."""

    def paginate_queryset(self, queryset, request, view=None):
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        paginator = self.django_paginator_class(queryset, page_size)
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw in self.last_page_strings:
            number = paginator.num_pages
        else:
            try:
                number = int(raw)
            except ValueError:
                number = 0
        if number < 1:
            raise ValidationError({self.page_query_param: [INVALID_PAGE]})
        self.request = request
        if number > paginator.num_pages:
            self.page = Page([], number, paginator)
            return []  # no page controls: they cannot show a page past the last one
        self.page = paginator.page(number)
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)

    def get_previous_link(self):
        last = self.page.paginator.num_pages
        if self.page.number > last:  # past the end: "previous" is the last page
            url = self.request.build_absolute_uri()
            return replace_query_param(url, self.page_query_param, last)
        return super().get_previous_link()
