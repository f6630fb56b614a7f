"""Tiny views behind the real auth, throttling and error handling, for testing the foundation alone."""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.tenancy.access import account_matching
from analytics_api.urls import urlpatterns as project_urls


class AccountProbeView(APIView):
    required_scope = "smartassist.analytics"

    def post(self, request: Any, account_id: str) -> Response:
        account = account_matching(request, account_id)
        return Response({"accountId": account.account_id, "echo": request.data})


class BoomView(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request: Any) -> Response:
        raise RuntimeError("boom")


urlpatterns = [
    path("probe/<str:account_id>", AccountProbeView.as_view()),
    path("boom", BoomView.as_view()),
    *project_urls,
]
