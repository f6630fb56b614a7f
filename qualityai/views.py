"""Quality AI endpoints: rawdata (DESIGN §6) and contact ingestion (DESIGN §7)."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.auth import account_bot, account_matching, request_account
from analytics_api.errors import ApiError, error_item, flatten_validation_errors
from analytics_api.ingestion import BatchSerializer
from analytics_api.openapi import IngestResultSerializer, Tag, api_operation
from qualityai import schema
from qualityai.selectors import RawdataQuery, rawdata_page
from qualityai.serializers import ContactRecordSerializer, RawdataQuerySerializer
from qualityai.services import contacts_ingest

_REQUIRED_HEADERS = ("accountId", "orgId")


class RawdataView(APIView):
    required_scope = "qualityai.analytics"

    @api_operation(
        operation_id="rawdata",
        tag=Tag.QUALITY_AI,
        summary="Quality AI raw data of a stream",
        description=schema.RAWDATA_DESCRIPTION,
        scope=required_scope,
        parameters=[schema.STREAM_ID, *schema.HEADERS],
        request=RawdataQuerySerializer,
        responses={200: schema.RAWDATA_RESPONSE, **schema.RAWDATA_ERRORS},
        examples=[*schema.RAWDATA_REQUEST_EXAMPLES, schema.RAWDATA_RESPONSE_EXAMPLE],
    )
    def post(self, request: Request, streamId: str) -> Response:
        """1. Missing headers and every body problem → one 400; 2. headers of another account or
        org → 403; 3. a stream outside the account → 404; 4. the page."""
        errors = [
            error_item(f"The {name} header is required.", "missing_header", name)
            for name in _REQUIRED_HEADERS
            if not request.headers.get(name, "").strip()
        ]
        body = RawdataQuerySerializer(data=request.data)
        if not body.is_valid():
            errors.extend(flatten_validation_errors(body.errors))
        if errors:
            raise ApiError.many(errors)
        account = account_matching(request, request.headers["accountId"].strip(), source="header")
        org_id = request.headers["orgId"].strip()
        if org_id != account.org_id:
            raise ApiError(
                f"This API client is not allowed to access org {org_id!r}.",
                code="org_forbidden",
                status_code=403,
                field="orgId",
            )
        stream = account_bot(account, streamId, field="streamId")
        query = RawdataQuery.from_validated(body.validated_data)
        return Response(rawdata_page(account=account, stream=stream, query=query).as_dict())


class ContactIngestView(APIView):
    required_scope = "ingest"

    @api_operation(
        operation_id="ingestContacts",
        tag=Tag.INGESTION,
        summary="Ingest Quality AI contacts of a stream",
        description=schema.INGEST_DESCRIPTION,
        scope=required_scope,
        parameters=[schema.STREAM_ID],
        request=inline_serializer("ContactBatch", {"records": ContactRecordSerializer(many=True)}),
        responses={200: IngestResultSerializer, **schema.INGEST_ERRORS},
        examples=[*schema.INGEST_REQUEST_EXAMPLES, *schema.INGEST_RESPONSE_EXAMPLES],
    )
    def post(self, request: Request, streamId: str) -> Response:
        stream = account_bot(request_account(request), streamId, field="streamId")
        batch = BatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        result = contacts_ingest(stream=stream, records=batch.validated_data["records"])
        return Response(result.as_dict())
