"""OpenAPI descriptions and examples of the change feed and counts (``api_operation`` keyword sets)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, inline_serializer
from rest_framework import serializers

from analytics_api.kernel.openapi import Tag, error_response
from changes.counts import MAX_BUCKETS, MAX_FILTER_VALUES
from changes.datasets import DATASETS
from changes.feed import CURSOR_EXPIRED, DEFAULT_LIMIT, MAX_LIMIT
from changes.serializers import CURSOR_MESSAGE, CountsQuery

_SCOPES = ", ".join(f"`{name}`: `{dataset.read_scope}`" for name, dataset in DATASETS.items())
_FILTERS = "; ".join(
    f"{name}: " + ", ".join(f"`{key}` ({text})" for key, text in dataset.filters.items())
    for name, dataset in DATASETS.items()
)

FORBIDDEN = error_response(
    "The API client lacks the read scope of the dataset (" + _SCOPES + ").",
    ("Missing scope", {"msg": "This API client lacks the scope 'qualityai.analytics'.", "code": "permission_denied"}),
)

CHANGES_DESCRIPTION = f"""
Every change of one dataset of your account, in order, to keep a copy complete incrementally.

**Datasets and scopes.** `dataset` is one of {", ".join(f"`{name}`" for name in DATASETS)}; the token needs the
scope of the dataset's documented endpoint ({_SCOPES}).

**Items.** `{{"cursor", "op", "key", "version", "record"}}` in strictly ascending `cursor` order.
`key` names the record (interactions: its `sessionId`; qa_contacts: `<streamId>/<Conversation ID>`).
`op` is `upsert` with `record`, the record's full *current* form exactly as its documented endpoint
serves it in UTC (interactionDetails with every section at `timeZoneOffset` 0; a rawdata result with
its current `duration_status` and recording links), or `delete` (a tombstone, no `record`) when the
record no longer exists. `version` grows with every change of the record (it is the position of its
latest change, not a count). A record changed several times between two reads is served once.

**Paging.** Without `cursor` the feed starts at the beginning (every current record, then every
change). `limit` is 1–{MAX_LIMIT:,} (default {DEFAULT_LIMIT:,}). Store `nextCursor` and send it as `cursor`
next time: you never miss a change, also when ingestion transactions commit out of order, and you
see a record again only when it changed again (at least once if you crash between storing records
and storing the cursor). `endOfStream` is true when nothing more can be read right now (ask again later);
`completeUpTo` (UTC) is the instant before which every committed change is in the stream up to its end.
A transaction still in flight holds the end of the stream back until it finishes: it is never skipped.

**Retention.** Changes are kept `CHANGE_FEED_RETENTION_DAYS` (default 30); the latest change of every
existing record is kept however old, so reading from the beginning always yields every record. A cursor
older than the retention, handed out before the last prune, answers 410 `cursor_expired`: resync from the
beginning. A resync started after the prune pages through the old records without expiring.
Cursors are opaque: send them back as they came (40 hex digits; the 32-digit cursors of earlier
versions are still read).
"""

_ITEM_EXAMPLE = {
    "cursor": "00000000000c3a9f0000000000041d2e00000003",
    "op": "upsert",
    "key": "s-5f2c1a9e-b1c4-4d7e-9a55-2f1c8e7d6b3a",
    "version": 269614,
    "record": {
        "sessionId": "s-5f2c1a9e-b1c4-4d7e-9a55-2f1c8e7d6b3a",
        "channel": "rtm",
        "sessionStartTime": "2026-11-02T06:30:00",
        "sessionEndTime": "2026-11-02T06:34:12",
        "botId": "st-0c3e1f6a-8d2b-4f71-9e44-5a6b7c8d9e0f",
        "userId": "u-7d1e",
        "orgId": "o-3f5a2b1c-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
        "finalStatus": "Completed",
    },
}

CHANGES: dict[str, Any] = {
    "operation_id": "listChanges",
    "tag": Tag.EXTRACTION,
    "scope": DATASETS["interactions"].read_scope,
    "summary": "Change feed of a dataset",
    "description": CHANGES_DESCRIPTION,
    "parameters": [
        OpenApiParameter("dataset", OpenApiTypes.STR, required=True, enum=list(DATASETS),
                         description="The dataset whose changes to read."),
        OpenApiParameter("cursor", OpenApiTypes.STR, required=False,
                         description="`nextCursor` of the previous answer (or an item's `cursor`); absent: from the "
                         "beginning. Opaque: 40 lowercase hex digits (32 from earlier versions)."),
        OpenApiParameter("limit", OpenApiTypes.INT, required=False,
                         description=f"Items per answer, 1–{MAX_LIMIT:,}; default {DEFAULT_LIMIT:,}."),
    ],
    "responses": {
        200: inline_serializer(
            "ChangePage",
            {
                "items": serializers.ListField(child=serializers.DictField()),
                "nextCursor": serializers.CharField(),
                "endOfStream": serializers.BooleanField(),
                "completeUpTo": serializers.CharField(help_text="UTC, YYYY-MM-DDTHH:MM:SS.mmmZ"),
            },
        ),
        400: error_response(
            "Bad parameters, each named.",
            ("Unknown dataset", {"msg": "dataset must be one of interactions, qa_contacts, conversations, not 'calls'.",
                                 "code": "invalid_choice", "field": "dataset"}),
            ("Bad cursor", {"msg": CURSOR_MESSAGE, "code": "invalid", "field": "cursor"}),
        ),
        403: FORBIDDEN,
        410: error_response(
            "The cursor is older than the feed's retention: start again without a cursor.",
            ("Expired cursor", {"msg": CURSOR_EXPIRED + ".", "code": "cursor_expired", "field": "cursor"}),
        ),
    },
    "examples": [
        OpenApiExample(
            "A page",
            response_only=True,
            value={
                "items": [
                    _ITEM_EXAMPLE,
                    {"cursor": "00000000000c3aa30000000000041d3100000003", "op": "delete",
                     "key": "s-0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d", "version": 269617},
                ],
                "nextCursor": "00000000000c3aa30000000000041d3100000003",
                "endOfStream": False,
                "completeUpTo": "2026-11-30T21:04:05.120Z",
            },
        ),
    ],
}

COUNTS_DESCRIPTION = f"""
Exact counts of a dataset's records per UTC hour or day, each with a checksum, so that a BI job can
prove that what it loaded is what the service holds.

**Window.** `startDate` and `endDate` are UTC (`YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, optional
fraction and `Z`; a date alone is midnight for `startDate`, the end of the day for `endDate`), widened to
whole buckets; every bucket is listed, empty ones too, at most {MAX_BUCKETS:,} per request. A record falls in
the bucket of its time: interactions `sessionStartTime`, qa_contacts `Conversation Start Time`
(including contacts below the stream's minimum duration).

**Filters.** Optional, per dataset ({_FILTERS}); lists of at most {MAX_FILTER_VALUES} values. An unknown
filter is a 400.

**Checksum.** The first 16 hex digits of the XOR, over the bucket's records, of
`sha256("<key>:<version>")`, with `key` and `version` as the change feed delivers them (an empty bucket:
`0000000000000000`). XOR-ing the first 8 bytes of each hash gives the same digits, in any order.
"""

COUNTS: dict[str, Any] = {
    "operation_id": "countRecords",
    "tag": Tag.EXTRACTION,
    "scope": DATASETS["interactions"].read_scope,
    "summary": "Exact counts and checksums per hour or day",
    "description": COUNTS_DESCRIPTION,
    "request": CountsQuery,
    "responses": {
        200: inline_serializer(
            "CountBucket",
            {
                "start": serializers.CharField(help_text="Bucket start, UTC"),
                "count": serializers.IntegerField(),
                "checksum": serializers.CharField(help_text="16 hex digits"),
            },
            many=True,
        ),
        400: error_response(
            "Bad body, every problem named.",
            ("Too many buckets", {
                "msg": f"The window holds 745 hour buckets; at most {MAX_BUCKETS:,} are counted per request: "
                "shorten it or count by day.",
                "code": "out_of_range", "field": "endDate",
            }),
            ("Unknown filter", {"msg": "interactions counts take the filters channels, bots, not 'queues'.",
                                "code": "invalid", "field": "filters.queues"}),
        ),
        403: FORBIDDEN,
    },
    "examples": [
        OpenApiExample(
            "A day by hour",
            request_only=True,
            value={"dataset": "interactions", "startDate": "2026-11-02", "endDate": "2026-11-02",
                   "granularity": "hour", "filters": {"channels": ["voice"]}},
        ),
        OpenApiExample(
            "Buckets",
            response_only=True,
            value=[
                {"start": "2026-11-02T00:00:00.000Z", "count": 1377, "checksum": "9c1e04b7a2f3d580"},
                {"start": "2026-11-02T01:00:00.000Z", "count": 0, "checksum": "0000000000000000"},
            ],
        ),
    ],
}
