"""Template filters for ``core.staff_time``: ``{% load staff_time %}``, then
``{{ moment|staff_time }}``, ``{{ moment|staff_time_seconds }}`` and ``{{ start|staff_range:end }}``."""

from django import template

from core import staff_time as formats

register = template.Library()


@register.filter
def staff_time(moment):
    return formats.staff_time(moment)


@register.filter
def staff_time_seconds(moment):
    return formats.staff_time(moment, seconds=True)


@register.filter
def staff_range(start, end):
    return formats.staff_range(start, end)
