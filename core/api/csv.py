"""API views that answer a streamed CSV file (``?format=csv``), and errors in DRF's JSON shape."""

from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView


class CSVRenderer(BaseRenderer):
    """Names the CSV format for content negotiation (``?format=csv``, ``Accept: text/csv``).

    The views stream their CSV themselves; this renderer never renders a body.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b""


class CSVExportView(APIView):
    """A GET that streams a CSV file; its errors (401, 403, 404) are JSON in DRF's shape."""

    renderer_classes = [CSVRenderer, JSONRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        if not response.streaming:  # an error answer: DRF's JSON, whatever was negotiated
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
