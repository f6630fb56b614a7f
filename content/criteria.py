"""The Conversations table's filter criteria (docs/contract.md#conversation-criteria): one check, one query.

:data:`criteria_check` validates a criteria object (the query body's ``filters``, a saved filter's
``criteria``) with the validation kit and returns it normalized: every list deduplicated in the
order sent, channels as their codes, an empty list the same as an absent one. :func:`conversations_matching`
applies validated criteria to an account's conversations in a window.

Every clause stays on an index whose first columns are the account and the window (see
docs/conversation-storage.md): the window and status on ``Conversation``'s own indexes, ``ids`` on its
unique (account, session id) key, ``queues`` through ``conversations.InteractionQueue``'s
(account, queue, start) index and ``agents`` through ``ConversationAgent``'s (account, agent, start)
index, both as semi-joins (a conversation is never repeated). A custom-tag clause is a probe of the
conversation's interaction record by its unique (account, session id) key, evaluated only for the
conversations the window and the other clauses leave.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, Exists, F, Func, OuterRef, QuerySet, Value
from rest_framework.exceptions import ErrorDetail

from analytics_api.kernel.validation import (
    Check,
    Invalid,
    choice,
    list_of,
    obj,
    strict,
    strict_text,
    whole_number,
)
from analytics_api.models import Account
from content.models import Conversation, ConversationAgent, Sentiment, Status
from conversations.models import Channel, Interaction, InteractionQueue
from conversations.records import channel_code

# Each id is a query parameter and each queue or agent a probe of a link index: bounded lists keep
# every request cheap, and the caps are those the OpenAPI schema states.
MAX_IDS = 100
MAX_QUEUES = 50
MAX_AGENTS = 50
MAX_TAG_CLAUSES = 5
ID_MAX_LENGTH = 128
TAG_NAME_MAX_LENGTH = 128
TAG_VALUE_MAX_LENGTH = 256
CSAT_SCORES = (1, 2, 3, 4, 5)
CONTAINS = "CONTAINS"
DOES_NOT_CONTAIN = "DOES_NOT_CONTAIN"
PREDICATES = (CONTAINS, DOES_NOT_CONTAIN)
CHANNELS = tuple(Channel.values)
STATUSES = tuple(Status.values)
SENTIMENTS = tuple(Sentiment.values)
FIELDS = ("ids", "queues", "channels", "agents", "status", "csat", "flagged", "sentiment", "customTags")


def _ids(name: str, what: str, cap: int) -> Check:
    """A list of at most ``cap`` ids, each a non-empty string; duplicates dropped."""
    items = list_of(
        strict_text(f"Each item of {name}", max_length=ID_MAX_LENGTH, allow_blank=False),
        max_length=cap,
        too_many=f"{name} may list at most {cap} {what}.",
        not_a_list=f"{name} must be a list of {what} (strings).",
    )
    return lambda data: list(dict.fromkeys(items(data)))


def _choices(name: str, values: tuple[str, ...], *, convert: Any = None) -> Check:
    """A list of some of ``values`` (each at most once)."""
    listed = ", ".join(values)

    def one(data: Any) -> str:
        value = convert(data) if convert is not None and isinstance(data, str) else data
        if value not in values:
            raise Invalid([ErrorDetail(f"{name} must be one of {listed}, not {data!r}.", "invalid_choice")])
        return value

    items = list_of(one, max_length=len(values), too_many=f"{name} may list each of {listed} once.",
                    not_a_list=f"{name} must be a list of some of {listed}.")
    return lambda data: list(dict.fromkeys(items(data)))


def _csat(data: Any) -> list[int]:
    score = whole_number("Each csat score", minimum=CSAT_SCORES[0], maximum=CSAT_SCORES[-1])
    items = list_of(score, max_length=len(CSAT_SCORES), too_many="csat may list each score from 1 to 5 once.",
                    not_a_list="csat must be a list of CSAT scores (integers from 1 to 5).")
    return sorted(set(items(data)))


_TAG_CLAUSE = obj(
    {
        "tag": strict_text("tag", max_length=TAG_NAME_MAX_LENGTH, allow_blank=False),
        "predicate": choice(*PREDICATES, message="predicate must be CONTAINS or DOES_NOT_CONTAIN."),
        "value": strict_text("value", max_length=TAG_VALUE_MAX_LENGTH),
    },
    required=("tag", "predicate", "value"),
    named=True,
    keep_unknown=False,
)
_CUSTOM_TAGS = list_of(
    _TAG_CLAUSE,
    max_length=MAX_TAG_CLAUSES,
    too_many=f"customTags may hold at most {MAX_TAG_CLAUSES} clauses (all of them must hold).",
    not_a_list="customTags must be a list of clauses {tag, predicate, value}.",
)

_FIELDS = obj(
    {
        "ids": _ids("ids", "session ids", MAX_IDS),
        "queues": _ids("queues", "queue ids", MAX_QUEUES),
        "channels": _choices("channels", CHANNELS, convert=channel_code),
        "agents": _ids("agents", "agent ids", MAX_AGENTS),
        "status": _choices("status", STATUSES),
        "csat": _csat,
        "flagged": strict("flagged", lambda data: isinstance(data, bool), "true or false"),
        "sentiment": _choices("sentiment", SENTIMENTS),
        "customTags": _CUSTOM_TAGS,
    },
    named=True,
    keep_unknown=False,
)


def criteria_check(data: Any) -> dict[str, Any]:
    """Criteria as sent → criteria as applied (the kit's check; errors name the criterion).

    1. Anything but an object is refused; so is a criterion this service does not know (a typo
       would otherwise widen the answer silently).
    2. Each criterion by its rule; every error at once.
    3. Empty lists and nulls are dropped: they filter nothing.
    """
    if isinstance(data, dict):
        unknown = [key for key in data if key not in FIELDS]
        if unknown:
            raise Invalid({
                key: [ErrorDetail(f"Unknown criterion {key!r}: use {', '.join(FIELDS)}.", "unknown_field")]
                for key in unknown
            })
    validated = _FIELDS(data)
    return {key: value for key, value in validated.items() if value != []}


class _TagClause(Func):
    """Whether an interaction document has a session- or user-level tag ``name`` whose value contains ``value``.

    Case-insensitive; a value that is not text is compared as its JSON text. One expression per
    engine: PostgreSQL's jsonb functions, SQLite's JSON1.
    """

    output_field = BooleanField()

    def __init__(self, document: Any, *, name: str, value: str) -> None:
        super().__init__(document, Value(name), Value(value))

    def _parts(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        document, name, value = self.get_source_expressions()
        doc_sql, doc_params = compiler.compile(document)
        name_sql, name_params = compiler.compile(name)
        value_sql, value_params = compiler.compile(value)
        return (doc_sql, name_sql, value_sql), [doc_params, name_params, value_params]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        (doc, name, value), (doc_p, name_p, value_p) = self._parts(compiler, connection)
        sql = (
            "EXISTS (SELECT 1 FROM jsonb_array_elements("
            f"COALESCE(({doc})->'sessionleveltags', '[]'::jsonb) || COALESCE(({doc})->'userleveltags', '[]'::jsonb)"
            f") AS tag WHERE tag->>'name' = ({name})::text "
            f"AND strpos(lower(tag->>'value'), lower(({value})::text)) > 0)"
        )
        return sql, [*doc_p, *doc_p, *name_p, *value_p]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        (doc, name, value), (doc_p, name_p, value_p) = self._parts(compiler, connection)
        sql = (
            f"EXISTS (SELECT 1 FROM json_each({doc}, '$.sessionleveltags') AS tag "
            f"WHERE json_extract(tag.value, '$.name') = {name} "
            f"AND instr(lower(json_extract(tag.value, '$.value')), lower({value})) > 0 "
            f"UNION ALL SELECT 1 FROM json_each({doc}, '$.userleveltags') AS tag "
            f"WHERE json_extract(tag.value, '$.name') = {name} "
            f"AND instr(lower(json_extract(tag.value, '$.value')), lower({value})) > 0)"
        )
        return sql, [*doc_p, *name_p, *value_p, *doc_p, *name_p, *value_p]

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        raise NotImplementedError(f"custom tag clauses are not written for {connection.vendor}")


def _tag_clauses(
    conversations: QuerySet[Conversation], *, account: Account, start: datetime, end: datetime,
    clauses: Iterable[dict[str, str]],
) -> QuerySet[Conversation]:
    for clause in clauses:
        # A conversation with an interaction record starts when it does: bounded by the window,
        # the probe reads only the window's months on PostgreSQL.
        tagged = Interaction.objects.filter(
            account=account, session_id=OuterRef("session_id"), session_start__gte=start, session_start__lte=end
        ).filter(_TagClause(F("document"), name=clause["tag"], value=clause["value"]))
        if clause["predicate"] == CONTAINS:
            conversations = conversations.filter(Exists(tagged))
        else:
            conversations = conversations.exclude(Exists(tagged))
    return conversations


def criteria_narrow(criteria: dict[str, Any]) -> bool:
    """Whether validated ``criteria`` narrow the window: whether :func:`conversations_matching` filters
    by more than the account and the window."""
    return any(value is not None if name == "flagged" else bool(value) for name, value in criteria.items())


def conversations_matching(
    *, account: Account, start: datetime, end: datetime, criteria: dict[str, Any]
) -> QuerySet[Conversation]:
    """The conversations of ``account`` started in [start, end] that meet validated ``criteria`` (unordered)."""
    rows = Conversation.objects.filter(account=account, started_at__gte=start, started_at__lte=end)
    if ids := criteria.get("ids"):
        rows = rows.filter(session_id__in=ids)
    if channels := criteria.get("channels"):
        rows = rows.filter(channel__in=channels)
    if statuses := criteria.get("status"):
        rows = rows.filter(status__in=statuses)
    if scores := criteria.get("csat"):
        rows = rows.filter(csat_score__in=scores)
    if (flagged := criteria.get("flagged")) is not None:
        rows = rows.filter(flagged=flagged)
    if sentiments := criteria.get("sentiment"):
        rows = rows.filter(sentiment__in=sentiments)
    if queues := criteria.get("queues"):
        # The link rows repeat the account, the start and the session id, so this probe reads their
        # (account, queue_id, session_start, session_id) index alone.
        entered = InteractionQueue.objects.filter(
            account=account,
            queue_id__in=queues,
            session_start__gte=start,
            session_start__lte=end,
            session_id=OuterRef("session_id"),
        )
        rows = rows.filter(Exists(entered))
    if agents := criteria.get("agents"):
        joined = ConversationAgent.objects.filter(
            conversation=OuterRef("pk"), account=account, agent_id__in=agents,
            started_at__gte=start, started_at__lte=end,
        )
        rows = rows.filter(Exists(joined))
    if clauses := criteria.get("customTags"):
        rows = _tag_clauses(rows, account=account, start=start, end=end, clauses=clauses)
    return rows
