"""Endpoints of the project package itself: the landing page, the health checks and the metrics."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views import View
from django.views.generic import TemplateView
from drf_spectacular.utils import inline_serializer
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.health import readiness_problems
from analytics_api.kernel.errors import (
    DEPENDENCY_RETRY_AFTER_SECONDS,
    ApiError,
    error_item,
    json_error_response,
    method_not_allowed_item,
)
from analytics_api.kernel.openapi import Tag, api_operation, error_response
from analytics_api.metrics import metrics_exposition
from analytics_api.tenancy.throttling import client_address


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


class ReadinessView(APIView):
    """Whether this instance can serve: every backing service answers (docs/contract.md#readiness)."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []

    @api_operation(
        operation_id="getReadiness",
        tag=Tag.HEALTH,
        summary="Readiness check",
        description=(
            "200 when the database, its read replicas (when `DATABASE_REPLICA_URLS` is configured), Redis "
            "(when `REDIS_URL` is set) and the recordings storage all answer; 503 otherwise, with one "
            "error item per service that does not, its `field` naming it (`database`, `replicas[0]`, "
            "`redis`, `storage`). For load balancers and orchestrators: take the instance out of "
            "rotation while it answers 503. `/api/health` stays the liveness check."
        ),
        scope=None,
        responses={
            200: inline_serializer("Readiness", {"status": serializers.CharField()}),
            503: error_response(
                "One or more backing services do not answer; each item's `field` names one.",
                ("Redis and storage down", [
                    {"msg": "Redis is unreachable.", "code": "dependency_unavailable", "field": "redis"},
                    {"msg": "The recordings storage is unreachable.", "code": "dependency_unavailable",
                     "field": "storage"},
                ]),
            ),
        },
    )
    def get(self, request: Request) -> Response:
        problems = readiness_problems()
        if problems:
            retry = {"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)}
            raise ApiError.many(problems, status_code=503, headers=retry)
        return Response({"status": "ok"})


def metrics_allowed(request: HttpRequest) -> bool:
    """Whether the caller may read /metrics: an address of ``METRICS_ALLOWED_NETS``, or the
    ``METRICS_TOKEN`` bearer (compared in constant time). An API client's JWT is never enough."""
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address is not None and any(address in network for network in settings.METRICS_ALLOWED_NETS):
        return True
    scheme, _, credential = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    expected = settings.METRICS_TOKEN
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(
        credential.strip().encode(), expected.encode()
    )


class MetricsView(View):
    """``/metrics``: the Prometheus text exposition (docs/contract.md#metrics), to operators only."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        if not metrics_allowed(request):
            item = error_item(
                "Metrics are served only to the networks of METRICS_ALLOWED_NETS, or with "
                "Authorization: Bearer <METRICS_TOKEN>.",
                "metrics_forbidden",
            )
            return json_error_response(403, [item])
        return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        item = method_not_allowed_item(request.method or "This method", self._allowed_methods())
        return json_error_response(405, [item], Allow=", ".join(self._allowed_methods()))
