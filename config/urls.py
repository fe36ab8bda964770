"""Root URLconf: admin, the door page, the API under /api/ with its schema and docs, health URLs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("admin/", admin.site.urls),
    path("door/", include("door_app.urls")),
    path("api/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/auth/", include("rest_framework.urls", namespace="rest_framework")),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
    path("", include("health_app.urls")),
]
