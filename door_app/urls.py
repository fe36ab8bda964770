"""The door page's URLs, mounted at /door/ by config.urls."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import offline, pairing, views

app_name = "door"
urlpatterns = [
    path("", views.page, name="page"),
    path("session/", views.choose, name="choose"),
    path("scan/", views.scan, name="scan"),
    path("undo/", views.undo, name="undo"),
    path("pair/", pairing.pair, name="pair"),
    path("sw.js", offline.service_worker, name="service-worker"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="door/login.html", next_page=reverse_lazy("door:page")
        ),
        name="login",
    ),
    path(
        "logout/",
        auth_views.LogoutView.as_view(next_page=reverse_lazy("door:login")),
        name="logout",
    ),
]
