"""interactionDetails/calldetails (docs/contract.md#interaction-endpoints), ingestion (docs/contract.md#ingestion)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.ingestion import BatchSerializer
from analytics_api.kernel.openapi import api_operation
from analytics_api.models import Scope
from analytics_api.replicas import ReplicaReads
from analytics_api.tenancy.access import account_bot, account_matching, request_account
from conversations import openapi
from conversations.models import Channel
from conversations.selectors import interaction_page
from conversations.serializers import interaction_query_validate
from conversations.services import interactions_ingest


class InteractionDetailsView(ReplicaReads, APIView):
    required_scope = Scope.ANALYTICS.value
    # calldetails serves the same contract for one channel.
    channel: str | None = None

    @api_operation(**openapi.INTERACTION_DETAILS)
    def post(self, request: Request, accountId: str) -> Response:
        account = account_matching(request, accountId)
        header_account = request.headers.get("accountId")
        if header_account is not None:
            account_matching(request, header_account, source="header")
        iid = request.headers.get("IId")
        bot = account_bot(account, iid, field="IId") if iid is not None else None
        query = interaction_query_validate(
            query_params=request.query_params,
            body=request.data,
            header_offset=request.headers.get("x-timezone-offset"),
        )
        page = interaction_page(account=account, query=query, bot_id=bot.bot_id if bot else None, channel=self.channel)
        return Response(page.as_dict())


class CallDetailsView(InteractionDetailsView):
    channel = Channel.VOICE.value

    @api_operation(**openapi.CALL_DETAILS)
    def post(self, request: Request, accountId: str) -> Response:
        return super().post(request, accountId)


class InteractionIngestView(APIView):
    required_scope = Scope.INGEST.value

    @api_operation(**openapi.INGEST_INTERACTIONS)
    def post(self, request: Request) -> Response:
        batch = BatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        result = interactions_ingest(account=request_account(request), records=batch.validated_data["records"])
        return Response(result.as_dict())
