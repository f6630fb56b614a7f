"""Conversation reads (docs/contract.md#conversation-reads): table, conversation, transcript, events, latency."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpResponseBase
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.csv_stream import csv_response
from analytics_api.kernel.openapi import api_operation
from analytics_api.kernel.request_fields import CheckField, ChoiceParam, InputSerializer
from analytics_api.kernel.validation import flag, strict_text
from analytics_api.models import Scope
from analytics_api.replicas import ReplicaReads
from analytics_api.tenancy.access import request_account
from content import events, latency, openapi, transcripts
from content.queries import ConversationQuerySerializer
from content.selectors import (
    ConversationPage,
    ConversationQuery,
    conversation_detail_get,
    conversation_events_get,
    conversation_page,
    conversation_transcript_get,
    conversation_turns_get,
    interaction_documents,
)
from search.caller import request_searcher
from search.services import search_history_record
from search.snippets import transcript_matches
from search.text import MAX_QUERY_LENGTH, search_query_parse
from supervision import openapi as supervision_openapi
from supervision.actors import request_actor
from supervision.erasure import conversation_delete
from supervision.filters import query_criteria
from supervision.masking import Masker, account_obscures

JSON = "json"
CSV = "csv"
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


class DownloadView(ReplicaReads, APIView):
    """A read that is also a download: ``?format=`` picks JSON or CSV, whatever the client accepts.

    Content negotiation is forced (never a 406): a CSV client sends ``Accept: text/csv``, and DRF's
    own reading of ``?format=`` (a renderer of that name) does not apply to this choice.
    """

    required_scope = Scope.CONVERSATIONS_READ.value

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)


class FormatSerializer(InputSerializer):
    format = ChoiceParam(choices=(JSON, CSV), required=False, message="format must be json or csv.")


class TranscriptParamsSerializer(FormatSerializer):
    excludeAgentAi = CheckField(required=False, check=flag, schema={"type": "boolean"})
    q = CheckField(
        required=False, check=lambda name: strict_text(name, max_length=MAX_QUERY_LENGTH, allow_blank=False),
        schema={"type": "string", "maxLength": MAX_QUERY_LENGTH},
    )


def _params(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params.validated_data


def _filename(kind: str, session_id: str) -> str:
    return f"{kind}-{_UNSAFE_IN_FILENAME.sub('_', session_id)}.csv"


class ConversationQueryView(ReplicaReads, APIView):
    required_scope = Scope.CONVERSATIONS_READ.value

    @api_operation(**openapi.QUERY_CONVERSATIONS)
    def post(self, request: Request) -> Response:
        body = ConversationQuerySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account, data = request_account(request), body.validated_data
        filter_id = data.get("filterId")
        criteria = query_criteria(
            account=account, actor=request_actor(request) if filter_id else None, filter_id=filter_id,
            explicit=data.get("filters", {}),
        )
        query = ConversationQuery.from_validated({**data, "filters": criteria or {}})
        searcher = request_searcher(request) if query.q is not None else None
        if criteria is None:  # the saved filter and the explicit criteria exclude each other
            page = ConversationPage(total=0, results=[], next_cursor=None)
        else:
            page = conversation_page(account=account, query=query)
        if searcher is not None:
            api_client, acting_user = searcher
            search_history_record(api_client=api_client, acting_user=acting_user, phrase=query.q, now=timezone.now())
        return Response(page.as_dict())


class ConversationView(ReplicaReads, APIView):
    """One path, two operations: reading a conversation, and a supervisor deleting it (supervision.erasure)."""

    @property
    def required_scope(self) -> str:
        if self.request.method == "DELETE":
            return Scope.CONVERSATIONS_SUPERVISE.value
        return Scope.CONVERSATIONS_READ.value

    @api_operation(**supervision_openapi.CONVERSATION_DELETE)
    def delete(self, request: Request, sessionId: str) -> Response:
        conversation_delete(account=request_account(request), session_id=sessionId, actor=request_actor(request))
        return Response(status=204)

    @api_operation(**openapi.GET_CONVERSATION)
    def get(self, request: Request, sessionId: str) -> Response:
        return Response(conversation_detail_get(account=request_account(request), session_id=sessionId))


class TranscriptView(DownloadView):

    @api_operation(**openapi.GET_TRANSCRIPT)
    def get(self, request: Request, sessionId: str) -> HttpResponseBase:
        params = _params(TranscriptParamsSerializer, request)
        search = search_query_parse(params["q"]) if "q" in params else None
        account = request_account(request)
        conversation, messages = conversation_transcript_get(account=account, session_id=sessionId)
        shown = transcripts.transcript_visible(messages, exclude_agent_ai=params.get("excludeAgentAi", False))
        views = [transcripts.message_view(message) for message in shown]
        subject = transcripts.transcript_subject(shown)
        if account_obscures(account=account):
            document = interaction_documents(account=account, conversations=[conversation]).get(sessionId)
            masker = Masker.of(document=document, sections=conversation.sections, messages=messages)
            views = [masker.message(view) for view in views]
            subject = masker.text(subject) if subject else subject
        if params.get("format") == CSV:
            return csv_response(
                header=transcripts.CSV_HEADER,
                rows=transcripts.transcript_csv_rows(views),
                filename=_filename("transcript", sessionId),
            )
        answer = {
            "sessionId": conversation.session_id,
            "channel": conversation.channel,
            "subject": subject,
            "messages": views,
        }
        if search is not None:
            # The in-conversation search (docs/contract.md#in-conversation-search).
            matches = transcript_matches(shown, search)
            for view, match in zip(views, matches, strict=True):
                view.update(match)
            answer["occurrences"] = sum(match["occurrences"] for match in matches)
        return Response(answer)


class EventsView(DownloadView):

    @api_operation(**openapi.GET_EVENTS)
    def get(self, request: Request, sessionId: str) -> HttpResponseBase:
        params = _params(FormatSerializer, request)
        conversation, stored = conversation_events_get(account=request_account(request), session_id=sessionId)
        events.events_available(conversation, now=timezone.now())
        views = [events.event_view(event) for event in stored]
        if params.get("format") == CSV:
            return csv_response(
                header=events.CSV_HEADER, rows=events.events_csv_rows(views), filename=_filename("events", sessionId)
            )
        return Response({
            "sessionId": conversation.session_id,
            "complete": events.events_complete(conversation),
            "events": views,
        })


class LatencyView(DownloadView):

    @api_operation(**openapi.GET_LATENCY)
    def get(self, request: Request, sessionId: str) -> HttpResponseBase:
        params = _params(FormatSerializer, request)
        conversation, turns = conversation_turns_get(account=request_account(request), session_id=sessionId)
        report = latency.latency_report(turns)
        if params.get("format") == CSV:
            return csv_response(
                header=latency.CSV_HEADER,
                rows=latency.latency_csv_rows(turns, report),
                filename=_filename("latency", sessionId),
            )
        return Response({"sessionId": conversation.session_id, **report})
