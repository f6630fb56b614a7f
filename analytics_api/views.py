"""Endpoints of the project package itself: the landing page and the health check."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.generic import TemplateView
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.errors import (
    DEPENDENCY_RETRY_AFTER_SECONDS,
    ApiError,
    json_error_response,
    method_not_allowed_item,
)
from analytics_api.kernel.openapi import Tag, api_operation


class LandingView(TemplateView):
    """``/``: a small HTML page pointing a person who opens the server in a browser to the docs."""

    template_name = "landing.html"
    http_method_names = ["get", "head"]

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Django's own 405 is an empty HTML answer: the envelope, like every other client error.
        allowed = self._allowed_methods()
        item = method_not_allowed_item(request.method or "This method", allowed)
        return json_error_response(405, [item], Allow=", ".join(allowed))


class HealthView(APIView):
    """Liveness and database reachability, for load balancers; no authentication."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []

    @api_operation(
        operation_id="getHealth",
        tag=Tag.HEALTH,
        summary="Health check",
        description="200 when the service and its database answer; 503 (error envelope) otherwise.",
        scope=None,
        responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
    )
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:
            raise ApiError(
                "The database is unreachable.", code="dependency_unavailable", status_code=503,
                headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)},
            ) from None
        return Response({"status": "ok"})
