from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from analytics_api.views import HealthView, LandingView, MetricsView, ReadinessView

urlpatterns = [
    path("", LandingView.as_view(), name="landing"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/health", HealthView.as_view(), name="health"),
    path("api/health/ready", ReadinessView.as_view(), name="readiness"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("", include("conversations.urls")),
    path("", include("qualityai.urls")),
    path("", include("recordings.urls")),
    # Before any conversation read: /api/v1/conversations/search-history is not a session id.
    path("", include("search.urls")),
    path("", include("diagnostics.urls")),
    path("", include("changes.urls")),
    path("", include("content.urls_ingest")),
    # Before content.urls: its /api/v1/conversations/{sessionId} would take "export" for a session id.
    path("", include("supervision.urls")),
    path("", include("content.urls")),
    path("", include("exports.urls")),
]

handler400 = "analytics_api.kernel.errors.bad_request_view"
handler403 = "analytics_api.kernel.errors.permission_denied_view"
handler404 = "analytics_api.kernel.errors.not_found_view"
handler500 = "analytics_api.kernel.errors.server_error_view"
