"""interactionDetails, calldetails (DESIGN §5) and interaction ingestion (DESIGN §7)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.auth import account_bot, account_matching, request_account
from analytics_api.ingestion import BatchSerializer
from analytics_api.models import Scope
from analytics_api.openapi import Tag, api_operation
from conversations import openapi
from conversations.models import Channel
from conversations.selectors import interaction_page
from conversations.serializers import interaction_query_validate
from conversations.services import interactions_ingest


class InteractionDetailsView(APIView):
    required_scope = Scope.ANALYTICS.value
    # calldetails serves the same contract for one channel.
    channel: str | None = None

    @api_operation(
        operation_id="interactionDetails",
        tag=Tag.CONVERSATIONS,
        summary="All conversations of a window, in detail",
        description=openapi.READ_RULES,
        scope=Scope.ANALYTICS.value,
        parameters=openapi.PAGING_PARAMETERS,
        request=openapi.InteractionRequestSerializer,
        responses=openapi.READ_RESPONSES,
        examples=[*openapi.REQUEST_EXAMPLES, *openapi.INTERACTION_RESPONSE_EXAMPLES],
    )
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

    @api_operation(
        operation_id="callDetails",
        tag=Tag.CONVERSATIONS,
        summary="Voice calls of a window, in detail",
        description=(
            "The interactionDetails contract restricted to voice interactions. A `channels` filter is "
            "narrowed to `voice`: a list without `voice` matches nothing.\n" + openapi.READ_RULES
        ),
        scope=Scope.ANALYTICS.value,
        parameters=openapi.PAGING_PARAMETERS,
        request=openapi.InteractionRequestSerializer,
        responses=openapi.READ_RESPONSES,
        examples=[*openapi.REQUEST_EXAMPLES, *openapi.CALL_RESPONSE_EXAMPLES],
    )
    def post(self, request: Request, accountId: str) -> Response:
        return super().post(request, accountId)


class InteractionIngestView(APIView):
    required_scope = Scope.INGEST.value

    @api_operation(
        operation_id="ingestInteractions",
        tag=Tag.INGESTION,
        summary="Ingest interaction records (upsert)",
        description=openapi.INGEST_DESCRIPTION,
        scope=Scope.INGEST.value,
        request=openapi.InteractionBatchDocSerializer,
        responses=openapi.INGEST_RESPONSES,
        examples=openapi.INGEST_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        batch = BatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        result = interactions_ingest(account=request_account(request), records=batch.validated_data["records"])
        return Response(result.as_dict())
