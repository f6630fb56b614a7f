"""Quality AI: rawdata (docs/contract.md#rawdata-endpoint), contact ingestion (docs/contract.md#quality-ai-contacts)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.errors import ApiError, error_item, flatten_validation_errors
from analytics_api.kernel.ingestion import BatchSerializer
from analytics_api.kernel.openapi import api_operation
from analytics_api.models import Scope
from analytics_api.replicas import ReplicaReads
from analytics_api.tenancy.access import account_bot, account_matching, request_account
from qualityai import openapi
from qualityai.selectors import RawdataQuery, rawdata_page
from qualityai.serializers import RawdataQuerySerializer
from qualityai.services import contacts_ingest

_REQUIRED_HEADERS = ("accountId", "orgId")


class RawdataView(ReplicaReads, APIView):
    required_scope = Scope.QUALITYAI.value

    @api_operation(**openapi.RAWDATA)
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
    required_scope = Scope.INGEST.value

    @api_operation(**openapi.INGEST_CONTACTS)
    def post(self, request: Request, streamId: str) -> Response:
        stream = account_bot(request_account(request), streamId, field="streamId")
        batch = BatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        result = contacts_ingest(stream=stream, records=batch.validated_data["records"])
        return Response(result.as_dict())
