"""Export jobs (docs/contract.md#export-jobs): create, list, read, cancel or delete, download files."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.openapi import api_operation
from analytics_api.kernel.request_fields import InputSerializer, NumberField
from analytics_api.models import Scope
from analytics_api.tenancy.access import request_account
from exports import openapi
from exports.downloads import export_file_response
from exports.selectors import (
    LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX,
    export_document,
    export_file_get,
    export_get,
    export_list,
)
from exports.services import export_cancel_or_delete, export_create


class ListQuery(InputSerializer):
    limit = NumberField(minimum=1, maximum=LIST_LIMIT_MAX, default=LIST_LIMIT_DEFAULT, from_text=True)


def _base(request: Request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


class ExportsView(APIView):
    required_scope = Scope.EXPORTS.value

    @api_operation(**openapi.CREATE_EXPORT)
    def post(self, request: Request) -> Response:
        job = export_create(
            account=request_account(request), client=request.user.client, body=request.data,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        return Response(export_document(job, base_url=_base(request)), status=202)

    @api_operation(**openapi.LIST_EXPORTS)
    def get(self, request: Request) -> Response:
        query = ListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        jobs, files = export_list(account=request_account(request), limit=query.validated_data["limit"])
        base = _base(request)
        return Response({"exports": [export_document(job, base_url=base, files=files[job.pk]) for job in jobs]})


class ExportDetailView(APIView):
    required_scope = Scope.EXPORTS.value

    @api_operation(**openapi.GET_EXPORT)
    def get(self, request: Request, exportId: str) -> Response:
        job = export_get(account=request_account(request), export_id=exportId)
        return Response(export_document(job, base_url=_base(request)))

    @api_operation(**openapi.DELETE_EXPORT)
    def delete(self, request: Request, exportId: str) -> Response:
        job = export_get(account=request_account(request), export_id=exportId)
        remaining = export_cancel_or_delete(job=job)
        if remaining is None:
            return Response(status=204)
        return Response(export_document(remaining, base_url=_base(request)))


class ExportFileView(APIView):
    required_scope = Scope.EXPORTS.value

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Download tools send Accept: application/octet-stream or the like; errors are still JSON.
        return super().perform_content_negotiation(request, force=True)

    @api_operation(**openapi.DOWNLOAD_EXPORT_FILE)
    def get(self, request: Request, exportId: str, n: str) -> HttpResponse:
        job = export_get(account=request_account(request), export_id=exportId)
        item = export_file_get(job=job, n=n)
        return export_file_response(job=job, item=item, range_header=request.headers.get("Range"))
