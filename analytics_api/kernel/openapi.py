"""The OpenAPI kit: how every operation is documented, in one place.

* :func:`api_operation` is the one decorator of a documented view method. It takes the
  operation's own answers and adds the answers every operation shares — 401 and 403 (authenticated
  operations), 405, 413 and 415 (operations taking a body), 429 with ``Retry-After`` (throttled
  operations) and 503 with ``Retry-After`` — so that a generated client or a schema-driven tester
  knows every status an operation can answer. 406 is shared too: an ``Accept`` header that excludes
  JSON is refused by content negotiation (except where a view answers whatever is accepted).
* :class:`ErrorEnvelopeSerializer` is the one error component (``ErrorEnvelope`` / ``ErrorItem``),
  :func:`error_response` the one way to document an error status with examples.
* :class:`Tag` is the one list of tags (lower case, one per area); operation ids are lowerCamelCase,
  a verb first (``getRecording``), except the reference's own operation names (``interactionDetails``,
  ``callDetails``, ``rawdata``). :func:`schema_conventions` (a postprocessing hook) lists the tags
  with their descriptions and refuses a schema breaking either rule.
* Limits are interpolated from the constants the validating code uses, never restated as literals.

Each app's ``openapi.py`` holds one keyword set per operation (descriptions, parameters, examples,
its own answers); its view method is decorated with ``@api_operation(**openapi.THE_OPERATION)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers

from analytics_api.kernel.errors import DEPENDENCY_RETRY_AFTER_SECONDS


class Tag(StrEnum):
    HEALTH = "health"
    CONVERSATIONS = "conversations"
    QUALITY_AI = "qualityai"
    INGESTION = "ingestion"
    RECORDINGS = "recordings"
    SETTINGS = "settings"
    SUPERVISION = "supervision"
    DIAGNOSTICS = "diagnostics"
    EXTRACTION = "extraction"
    EXPORTS = "exports"


TAG_DESCRIPTIONS = {
    Tag.HEALTH: "Liveness and database reachability, without authentication.",
    Tag.CONVERSATIONS: "Conversations: the raw data (interactionDetails, callDetails) and the conversation itself "
    "(the table, one conversation, its transcript, events and voice-turn latency).",
    Tag.QUALITY_AI: "Quality AI evaluations of the contacts of a stream (rawdata).",
    Tag.INGESTION: "Storing interaction records, conversation content and Quality AI contacts (upsert, in batches).",
    Tag.RECORDINGS: "Call recordings: state, download and retry.",
    Tag.SETTINGS: "Account settings: recording retention, privacy (obscuring customer info) and the audit log.",
    Tag.SUPERVISION: "Supervisor workflows: dispositions and their log, flags, saved filters, deletion and erasure, "
    "small exports.",
    Tag.DIAGNOSTICS: "Voice diagnostics of a call: SIP flow, QoS and participants, exported as TEXT or PCAP.",
    Tag.EXTRACTION: "BI extraction: the change feed and counts with checksums.",
    Tag.EXPORTS: "Export jobs: whole windows of a dataset as NDJSON, CSV or Parquet files, with a manifest.",
}

# lowerCamelCase: what generators turn into natural names (get_recording, interaction_details).
OPERATION_ID = re.compile(r"^[a-z][a-zA-Z]*$")


class ErrorItemSerializer(serializers.Serializer):
    msg = serializers.CharField(help_text="What is wrong and how to fix it, in one sentence.")
    code = serializers.CharField(help_text="Stable machine-readable code (e.g. `not_found`, `rate_limited`).")
    field = serializers.CharField(
        required=False, help_text="The field, parameter or header at fault, when there is one."
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    """Every client error: one or more items, each naming its field when there is one."""

    errors = ErrorItemSerializer(many=True)


class IngestResultSerializer(serializers.Serializer):
    """The answer of every ingestion endpoint."""

    @extend_schema_serializer(component_name="RejectedRecord")
    class RejectedSerializer(serializers.Serializer):
        index = serializers.IntegerField(help_text="Position of the record in the batch (0-based)")
        errors = ErrorItemSerializer(many=True)

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = RejectedSerializer(many=True)


ErrorExample = tuple[str, dict[str, str] | list[dict[str, str]]]


def error_response(description: str, *examples: ErrorExample) -> OpenApiResponse:
    """An error status: the envelope, a description and named examples (one item or a list of items)."""
    return OpenApiResponse(
        ErrorEnvelopeSerializer,
        description=description,
        examples=[
            OpenApiExample(name, value={"errors": items if isinstance(items, list) else [items]})
            for name, items in examples
        ],
    )


def forbidden(scope: str) -> OpenApiResponse:
    return error_response(
        f"The API client lacks the `{scope}` scope.",
        ("Missing scope", {"msg": f"This API client lacks the scope '{scope}'.", "code": "permission_denied"}),
    )


UNAUTHORIZED = error_response(
    "Missing, malformed, expired or wrongly signed token (the `WWW-Authenticate` header says how to "
    "authenticate).",
    ("Expired token", {"msg": "The token has expired: mint a new one.", "code": "invalid_token"}),
)


def _shared_responses(*, scope: str | None, body: bool, negotiated: bool) -> dict[int, OpenApiResponse]:
    # The body limit is a setting: the schema states the value in force where it is generated.
    shared: dict[int, OpenApiResponse] = {}
    if scope is not None:
        shared[401] = UNAUTHORIZED
        shared[403] = forbidden(scope)
    shared[405] = error_response(
        "The path does not take this method; the `Allow` header lists those it takes.",
        ("Wrong method", {"msg": 'Method "DELETE" not allowed.', "code": "method_not_allowed"}),
    )
    if negotiated:
        shared[406] = error_response(
            "The `Accept` header excludes `application/json`, the only type this operation answers in.",
            ("Not JSON", {"msg": "This API answers in JSON only: accept application/json.", "code": "not_acceptable"}),
        )
    if body:
        limit = settings.API_MAX_BODY_BYTES
        shared[413] = error_response(
            f"The body is larger than {limit:,} bytes (the server's `API_MAX_BODY_BYTES`).",
            ("Too large", {
                "msg": f"The request body is {limit + 1} bytes; the limit is {limit} bytes. "
                "Send fewer records per request.",
                "code": "body_too_large",
            }),
        )
        shared[415] = error_response(
            "The body is not sent as `application/json`.",
            ("Not JSON", {
                "msg": "Send the body as JSON with the header Content-Type: application/json.",
                "code": "unsupported_media_type",
            }),
        )
    if scope is not None:
        shared[429] = error_response(
            "Too many requests from this API client (per-minute and per-hour limits), or too many "
            "failed authentications from this address: wait `Retry-After` seconds.",
            ("Rate limited", {"msg": "Rate limit exceeded for this client: retry in 12 seconds.",
                              "code": "rate_limited"}),
        )
    shared[503] = error_response(
        "A backing service (database, cache or recording storage) is unavailable: retry after "
        "`Retry-After` seconds.",
        ("Database down", {"msg": "A backing service (database or cache) is unavailable; retry shortly.",
                           "code": "dependency_unavailable"}),
    )
    return shared


def _response_headers(statuses: set[int]) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "Retry-After",
            OpenApiTypes.INT,
            OpenApiParameter.HEADER,
            required=True,
            response=sorted(statuses & {429, 503}),
            description=f"Seconds to wait before retrying (e.g. {DEPENDENCY_RETRY_AFTER_SECONDS} after a 503).",
        ),
        OpenApiParameter(
            "Allow", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, response=[405],
            description="The methods this path takes.",
        ),
    ]


def api_operation(
    *,
    operation_id: str,
    tag: Tag,
    summary: str,
    description: str,
    responses: dict[Any, Any],
    scope: str | None,
    request: Any = None,
    parameters: Sequence[OpenApiParameter] = (),
    examples: Sequence[OpenApiExample] = (),
    negotiated: bool = True,
) -> Callable[[Any], Any]:
    """``extend_schema`` for one operation: its own answers plus the shared ones.

    ``scope`` is the scope the view requires (None: no authentication, as for the health check);
    ``request`` is the body's serializer (None: no body). An answer in ``responses`` takes precedence
    over the shared one of the same status (e.g. a 403 that also covers another account's id).
    ``negotiated=False`` is for a view that skips content negotiation (so never answers 406).
    """
    shared = _shared_responses(scope=scope, body=request is not None, negotiated=negotiated)
    statuses = {key[0] if isinstance(key, tuple) else key for key in responses}
    merged = {**responses, **{status: answer for status, answer in shared.items() if status not in statuses}}
    schema = extend_schema(
        operation_id=operation_id,
        tags=[tag],
        summary=summary,
        description=description,
        request=request,
        responses=dict(sorted(merged.items(), key=lambda item: str(item[0]))),
        parameters=[*parameters, *_response_headers({key for key in merged if isinstance(key, int)})],
        examples=list(examples),
    )

    def decorate(method: Any) -> Any:
        method = schema(method)
        # Request metrics and logs name the operation by it (analytics_api.middleware.operation_label).
        setattr(method, _OPERATION_ID_ATTRIBUTE, operation_id)
        return method

    return decorate


_OPERATION_ID_ATTRIBUTE = "openapi_operation_id"


def operation_id_of(view_method: Any) -> str | None:
    """The operationId given to a view method by :func:`api_operation`, or None."""
    return getattr(view_method, _OPERATION_ID_ATTRIBUTE, None)


def schema_conventions(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS postprocessing hook: the tag list, and the conventions enforced."""
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            if not OPERATION_ID.match(operation.get("operationId", "")):
                raise ValueError(f"{where}: operationId {operation.get('operationId')!r} is not lowerCamelCase")
            unknown = set(operation.get("tags", [])) - set(Tag)
            if unknown or len(operation.get("tags", [])) != 1:
                raise ValueError(
                    f"{where}: tags {operation.get('tags')} are not one of analytics_api.kernel.openapi.Tag"
                )
    result["tags"] = [{"name": tag.value, "description": TAG_DESCRIPTIONS[tag]} for tag in Tag]
    return result
