"""The search history endpoints (docs/contract.md#search-history)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.openapi import api_operation
from analytics_api.models import Scope
from search import openapi
from search.caller import request_searcher
from search.selectors import search_history_list
from search.services import search_history_clear


class SearchHistoryView(APIView):
    required_scope = Scope.CONVERSATIONS_READ.value

    @api_operation(**openapi.SEARCH_HISTORY_GET)
    def get(self, request: Request) -> Response:
        api_client, acting_user = request_searcher(request)
        return Response({"results": search_history_list(api_client=api_client, acting_user=acting_user)})

    @api_operation(**openapi.SEARCH_HISTORY_DELETE)
    def delete(self, request: Request) -> Response:
        api_client, acting_user = request_searcher(request)
        search_history_clear(api_client=api_client, acting_user=acting_user)
        return Response(status=204)
