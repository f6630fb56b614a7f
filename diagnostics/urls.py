from __future__ import annotations

from django.urls import path

from diagnostics import views

urlpatterns = [
    path(
        "api/v1/conversations/<str:sessionId>/diagnostics",
        views.DiagnosticsView.as_view(),
        name="conversation-diagnostics",
    ),
]
