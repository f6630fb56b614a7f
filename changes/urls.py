from __future__ import annotations

from django.urls import path

from changes.views import ChangesView, CountsView

urlpatterns = [
    path("api/v1/changes", ChangesView.as_view(), name="changes-feed"),
    path("api/v1/counts", CountsView.as_view(), name="changes-counts"),
]
