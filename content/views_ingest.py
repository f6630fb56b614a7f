"""``POST /api/v1/ingest/conversations`` (docs/contract.md#content-ingestion): a thin view over content.services."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.ingestion import BatchSerializer
from analytics_api.kernel.openapi import api_operation
from analytics_api.kernel.request_fields import ChoiceParam
from analytics_api.models import Scope
from analytics_api.tenancy.access import request_account
from content import openapi_ingest
from content.checks import TRANSCRIPT_MODES
from content.services import conversations_ingest


class ContentBatchSerializer(BatchSerializer):
    """``{"records": [...], "transcriptMode"?}``: the batch's default mode for records without their own."""

    transcriptMode = ChoiceParam(
        choices=TRANSCRIPT_MODES,
        message='transcriptMode must be "replace" or "append".',
        required=False,
        help_text="The default of the batch's records: replace (default) or append the transcript",
    )


class ConversationIngestView(APIView):
    required_scope = Scope.INGEST.value

    @api_operation(**openapi_ingest.INGEST_CONVERSATIONS)
    def post(self, request: Request) -> Response:
        batch = ContentBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        result = conversations_ingest(
            account=request_account(request),
            records=batch.validated_data["records"],
            transcript_mode=batch.validated_data.get("transcriptMode", "replace"),
        )
        return Response(result.as_dict())
