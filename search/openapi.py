"""OpenAPI documentation of the search: the history operations, and the shapes the query and transcript add with ``q``.

``SearchHitFieldsSerializer`` and ``TranscriptMatchSerializer`` describe what the Conversations query
and the transcript add to their rows when ``q`` is given; their operations include them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema_serializer
from rest_framework import serializers

from analytics_api.kernel.openapi import Tag, error_response
from analytics_api.models import Scope
from search.caller import ACTING_USER_HEADER, ACTING_USER_MAX, ACTING_USER_MESSAGE
from search.models import HISTORY_SIZE
from search.snippets import MAX_SNIPPETS, SNIPPET_LENGTH
from search.text import MAX_QUERY_LENGTH, MAX_QUERY_WORDS

_SEARCH = {"tag": Tag.CONVERSATIONS, "scope": Scope.CONVERSATIONS_READ.value}

Q_DESCRIPTION = (
    f"Words or a phrase (at most {MAX_QUERY_LENGTH} characters and {MAX_QUERY_WORDS} significant words) "
    "searched in the transcript (chat, voice and e-mail messages, `agent_ai` messages unless "
    "`excludeAgentAi`), agent notes and disposition remarks; case, accents and word endings are folded, "
    "stop words ignored. Results in tiers: 0 an identifier equal to `q`, 1 the whole phrase in one "
    "message, 2 every word, 3 some words."
)


class RangeSerializer(serializers.Serializer):
    start = serializers.IntegerField(help_text="First character (0-based) of the match in `text`")
    end = serializers.IntegerField(help_text="One past the last character")


@extend_schema_serializer(component_name="SearchSnippet")
class SnippetSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=["message", "note", "dispositionRemarks"])
    id = serializers.CharField(allow_null=True, help_text="The message's or note's id; null for remarks")
    field = serializers.ChoiceField(choices=["text", "subject"], help_text="`subject`: an e-mail's subject")
    text = serializers.CharField(help_text=f"The text, or at most {SNIPPET_LENGTH} characters around the match")
    highlights = RangeSerializer(many=True, help_text="The whole phrase as one range; other matched words each")


class SearchHitFieldsSerializer(serializers.Serializer):
    """What a row of the Conversations query carries with `q`."""

    tier = serializers.IntegerField(required=False, help_text="With q: 0 identifier, 1 whole phrase, 2 every word, "
                                    "3 some words")
    snippets = SnippetSerializer(many=True, required=False, help_text=f"With q: at most {MAX_SNIPPETS}, best first")


class HighlightSerializer(RangeSerializer):
    field = serializers.ChoiceField(choices=["text", "subject"])


@extend_schema_serializer(component_name="TranscriptMatch")
class TranscriptMatchSerializer(serializers.Serializer):
    """What each transcript message carries with `?q=`."""

    occurrences = serializers.IntegerField(required=False, help_text="With q: highlighted ranges in this message")
    highlights = HighlightSerializer(many=True, required=False)


class HistoryEntrySerializer(serializers.Serializer):
    phrase = serializers.CharField()
    searchedAt = serializers.CharField(help_text="UTC, ISO-8601 with milliseconds")


@extend_schema_serializer(component_name="SearchHistory")
class HistorySerializer(serializers.Serializer):
    results = HistoryEntrySerializer(many=True, help_text=f"At most {HISTORY_SIZE}, newest first")


ACTING_USER = OpenApiParameter(
    ACTING_USER_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description=f"The person using this API client (at most {ACTING_USER_MAX} characters): each has a history.",
)
_BAD_ACTOR = error_response(
    f"`{ACTING_USER_HEADER}` too long or with control characters.",
    ("Acting user too long", {"msg": ACTING_USER_MESSAGE, "code": "invalid", "field": ACTING_USER_HEADER}),
)

SEARCH_HISTORY_GET: dict[str, Any] = {
    "operation_id": "getSearchHistory",
    "summary": "The caller's last search phrases",
    "description": (
        f"The last {HISTORY_SIZE} phrases searched with `q` by this API client and `{ACTING_USER_HEADER}` "
        "(the header absent is a history of its own), newest first. The same phrase in another letter "
        "case is one entry, moved to the top when searched again. Requires `conversations.read`."
    ),
    "parameters": [ACTING_USER],
    "responses": {200: HistorySerializer, 400: _BAD_ACTOR},
    "examples": [
        OpenApiExample(
            "Two phrases",
            value={"results": [
                {"phrase": "refund not received", "searchedAt": "2025-09-30T11:42:03.120Z"},
                {"phrase": "cancel subscription", "searchedAt": "2025-09-30T10:05:47.900Z"},
            ]},
            response_only=True,
        ),
    ],
    **_SEARCH,
}

SEARCH_HISTORY_DELETE: dict[str, Any] = {
    "operation_id": "clearSearchHistory",
    "summary": "Clear the caller's search history",
    "description": (
        f"Forgets every phrase of this API client and `{ACTING_USER_HEADER}`; other acting users' "
        "histories stay. Requires `conversations.read`."
    ),
    "parameters": [ACTING_USER],
    "responses": {204: None, 400: _BAD_ACTOR},
    **_SEARCH,
}
