"""Content negotiation whose unknown ``?format=`` is bad input (400 on ``format``), not a 404.

DRF answers a ``format`` that no renderer of the view offers with a bare 404 ``{"detail":
"Not found."}``: no operation documents it, and on a session's URLs it lacks the ``reason`` that
every other 404 there carries. The value is a query parameter like any other, so a wrong one is
a field error in DRF's shape, naming the formats the endpoint offers.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation with 400 ``{"format": [...]}`` for a format the view does not offer."""

    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            offered = ", ".join(dict.fromkeys(renderer.format for renderer in renderers))
            raise ValidationError({"format": [f"Unknown format; this endpoint offers: {offered}."]})
        return matching
