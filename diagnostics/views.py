"""The diagnostics of a voice call (scope ``conversations.read``): JSON, or exported as TEXT or PCAP."""

from __future__ import annotations

import re
from typing import Any

from django.http import StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.openapi import api_operation
from analytics_api.kernel.request_fields import ChoiceParam, InputSerializer
from analytics_api.models import Scope
from analytics_api.replicas import ReplicaReads
from analytics_api.tenancy.access import request_account
from diagnostics import openapi
from diagnostics.exports import flow_pcap, flow_text
from diagnostics.selectors import CallDiagnosticsView, diagnostics_get

FORMATS = ("json", "text", "pcap")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class DiagnosticsQuery(InputSerializer):
    format = ChoiceParam(choices=FORMATS, message="format must be json, text or pcap.", required=False)


def _payload(view: CallDiagnosticsView) -> dict[str, Any]:
    return {
        "sessionId": view.session_id,
        "endpoints": view.endpoints,
        "flow": view.flow,
        "qos": view.qos,
        "participants": view.participants,
    }


class DiagnosticsView(ReplicaReads, APIView):
    required_scope = Scope.CONVERSATIONS_READ.value

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Capture tools send Accept: application/vnd.tcpdump.pcap; errors are still answered in JSON.
        return super().perform_content_negotiation(request, force=True)

    @api_operation(**openapi.DIAGNOSTICS)
    def get(self, request: Request, sessionId: str) -> Response | StreamingHttpResponse:
        query = DiagnosticsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        view = diagnostics_get(account=request_account(request), session_id=sessionId)
        chosen = query.validated_data.get("format", "json")
        if chosen == "json":
            return Response(_payload(view))
        name = _UNSAFE_FILENAME.sub("_", sessionId)[:100] or "call"
        if chosen == "text":
            response = StreamingHttpResponse(flow_text(view), content_type="text/plain; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="diagnostics-{name}.txt"'
            return response
        response = StreamingHttpResponse(flow_pcap(view), content_type=openapi.PCAP_TYPE)
        response["Content-Disposition"] = f'attachment; filename="diagnostics-{name}.pcap"'
        return response
