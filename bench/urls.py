"""The service's routes, plus the framework's ceilings measured beside every figure."""

from __future__ import annotations

from django.urls import path

from analytics_api.urls import urlpatterns as service_urlpatterns
from bench.views import NoopView, PrerenderedPageView

urlpatterns = [
    *service_urlpatterns,
    path("bench/noop", NoopView.as_view()),
    path("bench/prerendered/<str:accountId>", PrerenderedPageView.as_view()),
]
