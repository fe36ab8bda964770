"""Crawl helpers: which admin pages exist, what a role may see, what went wrong."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.test import RequestFactory
from django.urls import reverse

_QUERY_LINK = re.compile(r'href="(\?[^"#]*)"')


@dataclass
class Problems:
    """What the crawl saw go wrong: server errors, wrong answers, logged tracebacks."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


class TracebackCatcher(logging.Handler):
    """Keep every log record with a traceback, and every error of ``django.request``.

    ``django.request`` logs each 4xx as a warning with the exception (a refused page's
    ``PermissionDenied``): an answer, not a failure, so those are left out.
    """

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "django.request":
            if record.levelno >= logging.ERROR:
                self.records.append(record)
        elif record.exc_info:
            self.records.append(record)


def registered_admins() -> list[tuple[type, admin.ModelAdmin]]:
    """Every model the admin site has registered (Django's own and third-party ones included)."""
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def permissions_of(model_admin: admin.ModelAdmin, user) -> dict[str, bool]:
    """What the model's admin lets ``user`` do (the admin's own rule, as its views apply it)."""
    request = RequestFactory().get("/admin/")
    request.user = user
    return {
        "view": model_admin.has_view_or_change_permission(request),
        "add": model_admin.has_add_permission(request),
        "delete": model_admin.has_delete_permission(request),
    }


def admin_url(model, page: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=args)


def object_urls(model, obj) -> dict[str, str]:
    """The change form, delete confirmation and history of one object."""
    pk = quote(obj.pk)
    return {page: admin_url(model, page, pk) for page in ("change", "delete", "history")}


def query_links(page_html: str) -> list[str]:
    """The changelist's own query links: list filters' choices, date hierarchy, sorting."""
    return sorted({html.unescape(link) for link in _QUERY_LINK.findall(page_html)})
