"""The service's routes, plus the framework's ceilings measured beside every figure."""

from __future__ import annotations

from django.urls import path

from analytics_api.urls import urlpatterns as service_urlpatterns
from tools.bench.views import NoopView, PrerenderedPageView

urlpatterns = [
    *service_urlpatterns,
    path("tools/bench/noop", NoopView.as_view()),
    path("tools/bench/prerendered/<str:accountId>", PrerenderedPageView.as_view()),
]
