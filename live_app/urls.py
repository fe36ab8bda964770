"""The live board's URL, mounted at /board/ by config.urls."""

from django.urls import path

from . import views

app_name = "live"
urlpatterns = [path("", views.board, name="board")]
