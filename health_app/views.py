"""Health views."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def live(request):
    """Answer 200 while the process serves; touch no dependency."""
    return JsonResponse({"status": "ok"})
