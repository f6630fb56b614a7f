"""Supervisor endpoints (docs/contract.md#supervisor-actions): thin views over supervision's services."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.openapi import api_operation
from analytics_api.models import Scope
from analytics_api.tenancy.access import request_account
from content.queries import ConversationQuerySerializer
from supervision import openapi
from supervision.actors import request_actor
from supervision.dispositions import dispositions_update
from supervision.erasure import customer_erase
from supervision.exports import conversations_csv, transcripts_zip, transcripts_zip_name
from supervision.filters import (
    filter_answer,
    filter_create,
    filter_delete,
    filter_duplicate,
    filter_get,
    filter_make_default,
    filter_update,
    filters_list,
    query_criteria,
)
from supervision.flags import flag_add, flag_remove
from supervision.models import DispositionChange
from supervision.privacy import privacy_settings_get, privacy_settings_update
from supervision.selectors import conversations_queried, conversations_selected, disposition_log
from supervision.serializers import (
    DispositionsIn,
    ErasureIn,
    FilterIn,
    FilterNameIn,
    FlagIn,
    PrivacyIn,
    SessionIdsIn,
    TranscriptExportIn,
)

SUPERVISE = Scope.CONVERSATIONS_SUPERVISE.value


def _valid(serializer: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    body = serializer(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _change(change: DispositionChange) -> dict[str, Any]:
    return {
        "time": render_utc_ms(change.at),
        "client": change.client_id,
        "actingUser": change.acting_user or None,
        "before": change.before,
        "after": change.after,
    }


class DispositionsView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.DISPOSITIONS_PUT)
    def put(self, request: Request, sessionId: str) -> Response:
        actor = request_actor(request)
        body = _valid(DispositionsIn, request.data)
        change = dispositions_update(
            account=request_account(request), session_id=sessionId, actor=actor,
            dispositions=body["dispositions"], remarks=body["remarks"],
        )
        return Response({"sessionId": sessionId, **_change(change)})


class DispositionLogView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.DISPOSITION_LOG)
    def get(self, request: Request, sessionId: str) -> Response:
        changes = disposition_log(account=request_account(request), session_id=sessionId)
        return Response({"sessionId": sessionId, "changes": [_change(change) for change in changes]})


class FlagsView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.FLAG_ADD)
    def post(self, request: Request, sessionId: str) -> Response:
        actor = request_actor(request)
        body = _valid(FlagIn, request.data)
        flag = flag_add(account=request_account(request), session_id=sessionId, actor=actor, reason=body["reason"])
        return Response(flag, status=201)


class FlagView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.FLAG_REMOVE)
    def delete(self, request: Request, sessionId: str, flagId: str) -> Response:
        actor = request_actor(request)
        flag_remove(account=request_account(request), session_id=sessionId, actor=actor, flag_id=flagId)
        return Response(status=204)


class ErasuresView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.ERASURE_CREATE)
    def post(self, request: Request) -> Response:
        actor = request_actor(request)
        body = _valid(ErasureIn, request.data)
        erased = customer_erase(account=request_account(request), customer=body["customer"], actor=actor)
        return Response({"customerBy": next(iter(body["customer"])), **erased.as_dict()})


def _privacy(settings: Any) -> dict[str, Any]:
    return {
        "obscureCustomerInfo": settings.obscure_customer_info,
        "updatedAt": render_utc_ms(settings.updated_at) if settings.updated_at else None,
    }


class PrivacySettingsView(APIView):
    required_scope = Scope.ADMIN.value

    @api_operation(**openapi.PRIVACY_GET)
    def get(self, request: Request) -> Response:
        return Response(_privacy(privacy_settings_get(account=request_account(request))))

    @api_operation(**openapi.PRIVACY_PUT)
    def put(self, request: Request) -> Response:
        actor = request_actor(request)
        body = _valid(PrivacyIn, request.data)
        settings = privacy_settings_update(
            account=request_account(request), actor=actor, obscure_customer_info=body["obscureCustomerInfo"]
        )
        return Response(_privacy(settings))


class FiltersView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.FILTERS_LIST)
    def get(self, request: Request) -> Response:
        rows = filters_list(account=request_account(request), actor=request_actor(request))
        return Response({"filters": [filter_answer(row) for row in rows]})

    @api_operation(**openapi.FILTER_CREATE)
    def post(self, request: Request) -> Response:
        actor = request_actor(request)
        body = _valid(FilterIn, request.data)
        row = filter_create(
            account=request_account(request), actor=actor, name=body["name"],
            criteria=body["criteria"],
        )
        return Response(filter_answer(row), status=201)


class FilterView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.FILTER_GET)
    def get(self, request: Request, filterId: str) -> Response:
        row = filter_get(account=request_account(request), actor=request_actor(request), filter_id=filterId)
        return Response(filter_answer(row))

    @api_operation(**openapi.FILTER_UPDATE)
    def put(self, request: Request, filterId: str) -> Response:
        actor = request_actor(request)
        account = request_account(request)
        filter_get(account=account, actor=actor, filter_id=filterId)
        body = _valid(FilterIn, request.data)
        row = filter_update(
            account=account, actor=actor, filter_id=filterId, name=body["name"],
            criteria=body["criteria"],
        )
        return Response(filter_answer(row))

    @api_operation(**openapi.FILTER_DELETE)
    def delete(self, request: Request, filterId: str) -> Response:
        filter_delete(account=request_account(request), actor=request_actor(request), filter_id=filterId)
        return Response(status=204)


class FilterDuplicateView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.FILTER_DUPLICATE)
    def post(self, request: Request, filterId: str) -> Response:
        actor = request_actor(request)
        account = request_account(request)
        filter_get(account=account, actor=actor, filter_id=filterId)
        body = _valid(FilterNameIn, request.data)
        row = filter_duplicate(account=account, actor=actor, filter_id=filterId, name=body["name"])
        return Response(filter_answer(row), status=201)


class FilterDefaultView(APIView):
    required_scope = SUPERVISE

    @api_operation(**openapi.FILTER_DEFAULT)
    def post(self, request: Request, filterId: str) -> Response:
        row = filter_make_default(account=request_account(request), actor=request_actor(request), filter_id=filterId)
        return Response(filter_answer(row))


class TranscriptExportView(APIView):
    required_scope = Scope.CONVERSATIONS_READ.value

    @api_operation(**openapi.TRANSCRIPTS_EXPORT)
    def post(self, request: Request) -> StreamingHttpResponse:
        body = _valid(TranscriptExportIn, request.data)
        at = timezone.now()
        response = StreamingHttpResponse(
            transcripts_zip(account=request_account(request), session_ids=body["sessionIds"], at=at),
            content_type="application/zip",
        )
        response["Content-Disposition"] = f'attachment; filename="{transcripts_zip_name(at)}"'
        return response


class ConversationExportView(APIView):
    required_scope = Scope.CONVERSATIONS_READ.value

    @api_operation(**openapi.CONVERSATIONS_EXPORT)
    def post(self, request: Request) -> StreamingHttpResponse:
        account = request_account(request)
        if isinstance(request.data, dict) and "sessionIds" in request.data:
            rows = conversations_selected(account=account, session_ids=_valid(SessionIdsIn, request.data)["sessionIds"])
        else:
            query = _valid(ConversationQuerySerializer, request.data)
            filter_id = query.get("filterId")
            criteria = query_criteria(
                account=account, actor=request_actor(request) if filter_id else None, filter_id=filter_id,
                explicit=query.get("filters", {}),
            )
            rows = conversations_queried(
                account=account, start=query["startDate"], end=query["endDate"], criteria=criteria, q=query.get("q")
            )
        response = StreamingHttpResponse(conversations_csv(account=account, rows=rows), content_type="text/csv")
        at = timezone.now()
        response["Content-Disposition"] = f'attachment; filename="conversations-{at:%Y-%m-%d-%H-%M-%S}.csv"'
        return response
