from django.urls import include, path

from . import floor

urlpatterns = [
    path("bench/floor/entries/", floor.entry_insert, name="bench_floor_entry"),
    path("", include("safeguarding.urls")),
]
