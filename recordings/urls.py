from __future__ import annotations

from django.urls import path

from recordings import views

urlpatterns = [
    path("api/v1/recordings/<str:conversationId>", views.RecordingDetailView.as_view(), name="recording-detail"),
    path(
        "api/v1/recordings/<str:conversationId>/download",
        views.RecordingDownloadView.as_view(),
        name="recording-download",
    ),
    path("api/v1/recordings/<str:conversationId>/retry", views.RecordingRetryView.as_view(), name="recording-retry"),
    path("api/v1/settings/retention", views.RetentionSettingsView.as_view(), name="retention-settings"),
    path("api/v1/settings/audit-log", views.AuditLogView.as_view(), name="audit-log"),
]
