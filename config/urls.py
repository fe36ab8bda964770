"""Root URLconf: admin, the door page, the API under /api/ with its schema and docs, health URLs."""

import functools

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.lockout import ObtainAuthTokenView


def _docs(view):
    """Serve the API schema and docs only when API_DOCS_ENABLED (off in production by default)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.API_DOCS_ENABLED:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("admin/", admin.site.urls),
    path("door/", include("door_app.urls")),
    path("board/", include("live_app.urls")),
    path("api/", include("config.api_router")),
    path("api/schema/", _docs(SpectacularAPIView.as_view()), name="api-schema"),
    path(
        "api/docs/",
        _docs(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("api/auth/", include("rest_framework.urls", namespace="rest_framework")),
    path("api/auth/token/", ObtainAuthTokenView.as_view(), name="api-token"),
    path("", include("health_app.urls")),
    path("metrics", include("metrics_app.urls")),
]
