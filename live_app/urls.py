"""The live board's URLs, mounted at /board/ by config.urls: the board and the doors view."""

from django.urls import path

from . import views

app_name = "live"
urlpatterns = [
    path("", views.board, name="board"),
    path("doors/", views.doors, name="doors"),
]
