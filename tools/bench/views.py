"""Ceilings: what the same server, middleware and JWT auth manage when the endpoint does no work.

``NoopView`` answers a constant; ``PrerenderedPageView`` answers the bytes of an interactionDetails
page computed once per process, so the difference to the real endpoint is the query, the
rendering and the serialisation — what the service's own code costs.
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.renderers import json_bytes
from analytics_api.models import Scope
from analytics_api.tenancy.access import account_matching
from conversations.selectors import interaction_page
from conversations.serializers import interaction_query_validate

_PAGES: dict[tuple[str, bytes], bytes] = {}


class NoopView(APIView):
    required_scope = Scope.ANALYTICS.value

    def post(self, request: Request) -> Response:
        return Response({"ok": True})


class PrerenderedPageView(APIView):
    required_scope = Scope.ANALYTICS.value

    def post(self, request: Request, accountId: str) -> HttpResponse:
        key = (request.get_full_path(), request.body)
        page = _PAGES.get(key)
        if page is None:
            account = account_matching(request, accountId)
            query = interaction_query_validate(
                query_params=request.query_params, body=request.data, header_offset=None
            )
            page = _PAGES[key] = json_bytes(interaction_page(account=account, query=query).as_dict())
        return HttpResponse(page, content_type="application/json")
