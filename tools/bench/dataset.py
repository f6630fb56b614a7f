"""A realistic benchmark data set, loaded fast with COPY instead of through the API.

Realism comes from the demo generators: a few thousand interactions, their Quality AI contacts
and their conversation content (transcript, events, voice turns, the search index's rows) are made
by ``seed_demo``'s own code and stored through the ingestion path, so every shape and size is what
integrators send. Volume comes from cloning those templates with COPY: each clone gets fresh ids
and a start time of its own, and every time inside its documents moves with it.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import random
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from django.db import connection

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.models import Account, Bot
from analytics_api.tenancy.services import account_ensure
from content.demo import content_record
from content.models import Conversation, ConversationAgent, EventLog, Transcript, VoiceTurns
from content.services import conversations_ingest
from conversations.demo import interactions_seed
from conversations.documents import SECTIONS, document_render, served_page
from conversations.models import Interaction, InteractionQueue
from diagnostics.models import CallDiagnostics
from qualityai.day_counts import day_counts_refresh, streams_days_mark
from qualityai.demo import contacts_seed
from qualityai.models import QaContact, QaContactCustomField
from qualityai.rendering import contact_result, served_result
from search.models import SearchIdentifier, SearchMessage

# A stored time (UTC, milliseconds, Z), quoted: the only form documents keep times in.
_STORED_TIME = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"')
# A local time of a pre-rendered text (conversations.documents): a marker, then the time at offset 0.
_SERVED_LOCAL = re.compile('"\x01(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d)"')
_TEMPLATE_ACCOUNT = "benchtemplate000000000000"
_COPY_CHUNK = 5_000
DAYS = 30


@dataclass(frozen=True)
class Scale:
    interactions: int  # per account
    qa_contacts: int  # per account
    accounts: int = 2
    templates: int = 2_000
    # Conversation content (transcript, events, voice turns, search index) for every interaction.
    content: bool = False


FULL = Scale(interactions=1_000_000, qa_contacts=300_000, content=True)
QUICK = Scale(interactions=60_000, qa_contacts=20_000, templates=600, content=True)

# The conversation tables cloned with each interaction, parents first (COPY order).
CONTENT_MODELS: tuple[type, ...] = (
    Conversation, ConversationAgent, Transcript, EventLog, VoiceTurns, CallDiagnostics, SearchMessage,
    SearchIdentifier,
)
# Transcript lengths: the sizing figure of docs/conversation-storage.md is about 30 messages.
MESSAGES_LOW, MESSAGES_HIGH = 20, 40
# Extra turns spliced into the demo's short transcripts to reach those lengths. The search figures'
# queries (tools/bench/suite.py SEARCH_QUERIES) are in some of them, so that they match a known
# share of conversations: "late delivery" in ~5%, "credit card payment declined" in ~2%.
FILLER_CUSTOMER = (
    "My refund was not received and it has been two weeks since I returned the order.",
    "Can you check why I was charged twice on my last invoice?",
    "I moved last month, can you update the address on my account?",
    "The parcel tracking says it was delivered but I have nothing here.",
    "Is there a discount if I renew the contract for another year?",
    "The router keeps dropping the signal every evening.",
    "I would like to cancel the premium plan and keep the basic one.",
    "Ok, thanks.", "Right.", "Yes, that is correct.", "Can you repeat that please?",
)
FILLER_ANSWER = (
    "Let me look into that for you, it will take a minute.",
    "I can see the payment on the 3rd; the refund is being processed.",
    "Thanks for your patience. I have updated your details.",
    "I have opened a ticket with the courier and they will call you back within a day.",
    "You are eligible for a loyalty discount of ten percent on the renewal.",
    "I have reset the line from our side, please restart the modem.",
    "Anything else I can help you with today?",
)
SEARCH_LINES = (
    (0.05, "My delivery is late again, the late delivery is a problem."),
    (0.02, "The credit card payment was declined twice."),
)


@dataclass
class Template:
    """A stored text split around its ids and times, to be re-joined with new ones.

    ``slots`` says what goes between ``parts[i]`` and ``parts[i + 1]``: ``("id", name)``, or a
    time as milliseconds after the record's start, in the document's UTC form (``"utc"``) or the
    pre-rendered local form (``"local"``, a marker then ``YYYY-MM-DDTHH:MM:SS``). Clones start at the same
    millisecond within their second as the template, so local times truncate the same way.
    """

    parts: list[str]
    slots: list[tuple[str, Any]]
    columns: dict[str, Any]
    start: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    # Conversation content: (model, rows), each row a list of RowSlot (see content_rows_capture).
    content: list[tuple[type, list[list[RowSlot]]]] = field(default_factory=list)

    @classmethod
    def of(
        cls, *, text: str, ids: dict[str, str], start: datetime, columns: dict[str, Any] | None = None,
        document_text: str | None = None,
    ) -> Template:
        """Split ``text``; local times are looked up among the stored times of ``document_text``."""
        names = "|".join(re.escape(orjson.dumps(value).decode()) for value in ids.values())
        pattern = re.compile(f"{_STORED_TIME.pattern}|{_SERVED_LOCAL.pattern}|{names}")
        by_text = {orjson.dumps(value).decode(): name for name, value in ids.items()}
        # Which delta a local time stands for: every stored time, truncated to the second.
        local_deltas = {
            found[:19]: _delta_ms(found, start) for found in _STORED_TIME.findall(document_text or text)
        }
        parts: list[str] = []
        slots: list[tuple[str, Any]] = []
        cursor = 0
        for match in pattern.finditer(text):
            parts.append(text[cursor : match.start()])
            if match.group(1):
                slots.append(("utc", _delta_ms(match.group(1), start)))
            elif match.group(2):
                slots.append(("local", local_deltas[match.group(2)]))
            else:
                slots.append(("id", by_text[match.group(0)]))
            cursor = match.end()
        parts.append(text[cursor:])
        return cls(parts=parts, slots=slots, columns=columns or {}, start=start)

    def render(self, *, start_ms: int, ids: dict[str, str]) -> str:
        out = [self.parts[0]]
        for (kind, value), part in zip(self.slots, self.parts[1:], strict=True):
            if kind == "utc":
                out.append(f'"{stored_time(start_ms + value)}"')
            elif kind == "local":
                out.append(f'"\x01{stored_time(start_ms + value)[:19]}"')
            else:
                out.append(f'"{ids[value]}"')
            out.append(part)
        return "".join(out)


# A column of a cloned content row: ("const", value), ("conversation_pk", None), ("account", None),
# ("session", None), ("now", None), ("time", milliseconds after the record's start) or ("json", Template).
RowSlot = tuple[str, Any]
_SKIP = ("skip", None)


def content_rows_capture(*, conversation: Conversation, ids: dict[str, str], start: datetime) -> list[
    tuple[type, list[list[RowSlot]]]
]:
    """Every content row of ``conversation`` (each of CONTENT_MODELS), as slots to clone it with.

    Generic over the columns, so a column added to a content table is cloned too: keys become
    the clone's keys, times move with the record, JSON documents are templates (ids and times
    inside them move as well), automatic row ids are left to their sequences, the rest is copied.
    """
    folded = {ids["session"].casefold(): "session"}
    if "conversation" in ids:
        folded[ids["conversation"].casefold()] = "conversation_id_text"
    captured = []
    for model in CONTENT_MODELS:
        key = "pk" if model is Conversation else "conversation_id"
        fields = [f for f in model._meta.concrete_fields]
        rows = list(model.objects.filter(**{key: conversation.pk}).order_by("pk").values(*[f.attname for f in fields]))
        if model is SearchMessage and rows:
            with connection.cursor() as cursor:
                cursor.execute("SELECT id, vector::text FROM search_searchmessage WHERE conversation_id = %s",
                               [conversation.pk])
                vectors = dict(cursor.fetchall())
            for row in rows:
                row["vector"] = vectors[row["id"]]
        slotted = []
        for row in rows:
            slots: list[RowSlot] = []
            for f in fields:
                value = row[f.attname]
                if f.primary_key and model is Conversation:
                    slots.append(("conversation_pk", None))
                elif f.primary_key and f.attname == "id":
                    slots.append(_SKIP)  # the table's own sequence numbers the clone
                elif f.attname == "conversation_id":
                    slots.append(("conversation_pk", None))
                elif f.attname == "account_id":
                    slots.append(("account", None))
                elif f.attname == "session_id" and model is Conversation:
                    slots.append(("session", None))
                elif f.attname in ("created_at", "updated_at"):
                    slots.append(("now", None))
                elif value is None:
                    slots.append(("const", None))
                elif isinstance(value, datetime):
                    slots.append(("time", round((value - start).total_seconds() * 1000)))
                elif model is SearchIdentifier and f.attname == "value" and value in folded:
                    slots.append(("id", folded[value]))
                elif f.get_internal_type() == "JSONField" or isinstance(value, dict | list):
                    slots.append(("json", Template.of(text=orjson.dumps(value).decode(), ids=ids, start=start)))
                else:
                    slots.append(("const", value))
            slotted.append(slots)
        captured.append((model, slotted))
    return captured


def content_columns(model: type) -> tuple[str, ...]:
    """The columns COPY writes for ``model`` (its automatic row id left out, as in the slots)."""
    return tuple(
        f.column for f in model._meta.concrete_fields
        if not (f.primary_key and f.attname == "id" and model is not Conversation)
    )


def content_row_render(
    slots: list[RowSlot], *, conversation_pk: int, account_pk: int, start_ms: int, ids: dict[str, str],
    now: datetime,
) -> tuple[Any, ...]:
    """One clone of a captured row (the COPY values, skipped columns left out)."""
    values: list[Any] = []
    for kind, value in slots:
        if kind == "skip":
            continue
        if kind == "const":
            values.append(value)
        elif kind == "conversation_pk":
            values.append(conversation_pk)
        elif kind == "account":
            values.append(account_pk)
        elif kind == "session":
            values.append(ids["session"])
        elif kind == "id":
            values.append(ids["session"] if value == "session" else ids["conversation"].casefold())
        elif kind == "now":
            values.append(now)
        elif kind == "time":
            values.append(datetime.fromtimestamp((start_ms + value) / 1000, UTC))
        else:  # json
            values.append(value.render(start_ms=start_ms, ids=ids))
    return tuple(values)


def transcript_lengthen(record: dict[str, Any], rng: random.Random) -> None:
    """Splice customer/answer turns into a demo record's transcript until it holds 20–40 messages.

    The turns go after the opening exchange; every message from there on is re-timed a few
    seconds after the one before, so the transcript stays in time order.
    """
    messages = record["transcript"]
    target = rng.randint(MESSAGES_LOW, MESSAGES_HIGH)
    answerer = "agent" if any(message["role"] == "agent" for message in messages) else "bot"
    extra: list[dict[str, Any]] = []
    for share, line in SEARCH_LINES:
        if rng.random() < share:
            extra.append({"role": "customer", "kind": "message", "text": line})
    while len(messages) + len(extra) < target:
        extra.append({"role": "customer", "kind": "message", "text": rng.choice(FILLER_CUSTOMER)})
        extra.append({"role": answerer, "kind": "message", "text": rng.choice(FILLER_ANSWER)})
    rng.shuffle(extra)
    spliced = [*messages[:3], *extra, *messages[3:]]
    at = datetime.fromisoformat(spliced[0]["time"])
    for number, message in enumerate(spliced):
        if number:
            at += timedelta(milliseconds=rng.randint(1000, 8000))
        message["id"] = f"m{number + 1}"
        message["time"] = render_utc_ms(at)
    record["transcript"] = spliced


def _content_seed(*, account: Account, seed: int) -> None:
    """The demo content of every template interaction, lengthened (``transcript_lengthen``), ingested."""
    rng = random.Random(seed)
    batch: list[dict[str, Any]] = []
    rows = list(Interaction.objects.filter(account=account).order_by("session_start", "session_id").values(
        "session_id", "channel", "session_start", "session_end", "document"
    ))
    # The demo marks a conversation still under way "in_progress"; the templates (today's business
    # hours, maybe still ahead) are cloned into the past, so they are drawn as seen a day after the last.
    now = max((row["session_end"] or row["session_start"] for row in rows), default=datetime.now(UTC))
    now += timedelta(days=1)
    for interaction in [*rows, None]:
        if interaction is not None:
            record = content_record(interaction, rng, now=now)
            transcript_lengthen(record, rng)
            batch.append(record)
        if batch and (interaction is None or len(batch) == 1000):
            result = conversations_ingest(account=account, records=batch)
            if result.rejected:
                raise RuntimeError(f"template content was rejected: {result.rejected[:3]}")
            batch = []


def _delta_ms(stored: str, start: datetime) -> int:
    return round((datetime.fromisoformat(stored) - start).total_seconds() * 1000)


def stored_time(epoch_ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, by arithmetic: the load renders some fifty per record, and
    ``strftime`` was a fifth of its time."""
    seconds, millis = divmod(epoch_ms, 1000)
    day, second = divmod(seconds, 86_400)
    return f"{_utc_day(day)}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _utc_day(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


def _epoch_ms(moment: datetime | None) -> int | None:
    return None if moment is None else round(moment.timestamp() * 1000)


@dataclass
class Templates:
    interactions: list[Template]
    contacts: dict[str, Template]  # by the template interaction's conversation id
    # Position of each interaction template that has a contact → its rank among those.
    eligible_ranks: dict[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.eligible_ranks = {}
        for position, template in enumerate(self.interactions):
            if template.extra["conversation_id"] in self.contacts:
                self.eligible_ranks[position] = len(self.eligible_ranks)


def templates_make(*, count: int, seed: int = 7, content: bool = False) -> Templates:
    """Make ``count`` template interactions (their contacts, and with ``content`` their conversation
    content) through the real ingestion path.

    They live in a throw-away account that is deleted once captured, so it never shows in a figure.
    """
    account = account_ensure(account_id=_TEMPLATE_ACCOUNT, org_id="o-benchtemplate", bot_ids=["st-benchtemplate"])
    conversations = interactions_seed(account=account, days=1, per_day=count, seed=seed)
    contacts_seed(account=account, conversations=conversations, seed=seed)
    if content:
        _content_seed(account=account, seed=seed)
    stored_content = {row.session_id: row for row in Conversation.objects.filter(account=account)}
    interactions = []
    for row in Interaction.objects.filter(account=account).order_by("session_start", "session_id"):
        ids = {"session": row.session_id, "bot": row.bot_id, "org": account.org_id}
        if row.conversation_id:
            ids["conversation"] = row.conversation_id
        document_text = orjson.dumps(row.document).decode()
        template = Template.of(
            text=document_text, ids=ids, start=row.session_start,
            columns={
                "channel": row.channel, "end_ms": _epoch_ms(row.session_end), "served_version": row.served_version,
            },
        )
        template.extra["served"] = None if row.served is None else Template.of(
            text=row.served, ids=ids, start=row.session_start, document_text=document_text
        )
        template.extra["queues"] = list(
            row.queue_links.order_by("queue_id").values_list("queue_id", flat=True)
        )
        template.extra["conversation_id"] = row.conversation_id
        if row.session_id in stored_content:
            template.content = content_rows_capture(
                conversation=stored_content[row.session_id], ids=ids, start=row.session_start
            )
            template.extra["messages"] = stored_content[row.session_id].message_count
        interactions.append(template)
    contacts: dict[str, Template] = {}
    for contact in QaContact.objects.filter(account=account).prefetch_related("custom_field_rows"):
        document_text = orjson.dumps(contact.document).decode()
        ids = {"conversation": contact.conversation_id}
        template = Template.of(
            text=document_text, ids=ids,
            start=contact.started_at,
            columns={
                "direction": contact.direction, "direction_defaulted": contact.direction_defaulted,
                "duration_ms": contact.duration_ms, "audit_complete": contact.audit_complete,
                "end_ms": _epoch_ms(contact.ended_at), "served_version": contact.served_version,
            },
        )
        template.extra["served"] = None if contact.served is None else Template.of(
            text=contact.served, ids=ids, start=contact.started_at, document_text=document_text
        )
        template.extra["custom_fields"] = [(row.key, row.value) for row in contact.custom_field_rows.all()]
        contacts[contact.conversation_id] = template
    account.delete()
    return Templates(interactions=interactions, contacts=contacts)


@dataclass(frozen=True)
class LoadTarget:
    """One account to fill: its row id, its stream, and the id ranges reserved for its rows."""

    account_pk: int
    account_tag: int
    bot_pk: int
    bot_id: str
    org_id: str
    window_start_ms: int
    interactions: int
    qa_contacts: int
    interaction_pk0: int
    contact_pk0: int
    conversation_pk0: int = 0


def _clone_ids(target: LoadTarget, index: int) -> dict[str, str]:
    return {
        "bot": target.bot_id,
        "org": target.org_id,
        "session": f"{target.account_tag:02x}{index:022x}",
        "conversation": f"c-{uuid.UUID(int=(target.account_tag << 64) | index, version=4)}",
    }


def _start_ms(target: LoadTarget, index: int, template: Template) -> int:
    """Evenly over the window, at the template's millisecond within the second (see Template)."""
    span = DAYS * 86_400_000
    moment = target.window_start_ms + index * span // target.interactions
    return moment - moment % 1000 + _epoch_ms(template.start) % 1000


def _chunks(total: int, workers: int) -> list[tuple[int, int]]:
    size = math.ceil(total / workers)
    return [(begin, min(total, begin + size)) for begin in range(0, total, size)]


def _contact_step(target: LoadTarget, templates: Templates) -> float:
    share = len(templates.eligible_ranks) / len(templates.interactions)
    return target.interactions * share / target.qa_contacts


def _copy_range(args: tuple[str, LoadTarget, Templates, int, int]) -> tuple[int, int, int]:
    """Worker: COPY interactions ``[begin, end)`` of one account, their queue links and contacts.

    Contacts are made for every ``step``-th interaction that has a template contact, so that they
    spread over the whole window and each links to a real conversation.
    """
    url, target, templates, begin, end = args
    now = datetime.now(UTC)
    step = _contact_step(target, templates)
    written = [0, 0, 0, 0]
    with psycopg.connect(url) as db:
        db.execute("SET synchronous_commit = off")
        for low in range(begin, end, _COPY_CHUNK):
            high = min(end, low + _COPY_CHUNK)
            interactions, links, contacts, fields = [], [], [], []
            content: dict[type, list[tuple[Any, ...]]] = {model: [] for model in CONTENT_MODELS}
            for index in range(low, high):
                template = templates.interactions[index % len(templates.interactions)]
                ids = _clone_ids(target, index)
                start_ms = _start_ms(target, index, template)
                start = datetime.fromtimestamp(start_ms / 1000, UTC)
                end_ms = template.columns["end_ms"]
                end_at = None if end_ms is None else start + timedelta(
                    milliseconds=end_ms - _epoch_ms(template.start)
                )
                pk = target.interaction_pk0 + index
                served = template.extra["served"]
                conversation = ids["conversation"] if template.extra["conversation_id"] else None
                interactions.append((
                    pk, target.account_pk, ids["session"], conversation, template.columns["channel"],
                    target.bot_id, start, end_at, template.render(start_ms=start_ms, ids=ids),
                    None if served is None else served.render(start_ms=start_ms, ids=ids),
                    template.columns["served_version"], "[]", now, now,
                ))
                links.extend(
                    (pk, target.account_pk, queue, start, ids["session"], template.columns["channel"], target.bot_id)
                    for queue in template.extra["queues"]
                )
                for model, rows in template.content:
                    content[model].extend(
                        content_row_render(
                            slots, conversation_pk=target.conversation_pk0 + index, account_pk=target.account_pk,
                            start_ms=start_ms, ids=ids, now=now,
                        )
                        for slots in rows
                    )
                contact = templates.contacts.get(template.extra["conversation_id"] or "")
                ordinal = _contact_ordinal(index, step, templates)
                if contact is None or ordinal is None or ordinal >= target.qa_contacts:
                    continue
                contact_pk = target.contact_pk0 + ordinal
                contact_served = contact.extra["served"]
                contact_start_ms = start_ms + (_epoch_ms(contact.start) - _epoch_ms(template.start))
                c_end = contact.columns["end_ms"]
                contacts.append((
                    contact_pk, target.account_pk, target.bot_pk, ids["conversation"],
                    datetime.fromtimestamp(contact_start_ms / 1000, UTC),
                    None if c_end is None else datetime.fromtimestamp(
                        (contact_start_ms + c_end - _epoch_ms(contact.start)) / 1000, UTC
                    ),
                    contact.columns["direction"], contact.columns["direction_defaulted"],
                    contact.columns["duration_ms"], contact.columns["audit_complete"],
                    contact.render(start_ms=contact_start_ms, ids=ids),
                    None if contact_served is None else contact_served.render(start_ms=contact_start_ms, ids=ids),
                    contact.columns["served_version"], now, now,
                ))
                contact_start = datetime.fromtimestamp(contact_start_ms / 1000, UTC)
                fields.extend(
                    (contact_pk, target.bot_pk, key, value, contact_start, contact.columns["direction"],
                     contact.columns["duration_ms"])
                    for key, value in contact.extra["custom_fields"]
                )
            _copy(db, Interaction, (
                "id", "account_id", "session_id", "conversation_id", "channel", "bot_id", "session_start",
                "session_end", "document", "served", "served_version", "recording_sources", "created_at", "updated_at",
            ), interactions)
            _copy(
                db, InteractionQueue,
                ("interaction_id", "account_id", "queue_id", "session_start", "session_id", "channel", "bot_id"), links,
            )
            _copy(db, QaContact, (
                "id", "account_id", "stream_id", "conversation_id", "started_at", "ended_at", "direction",
                "direction_defaulted", "duration_ms", "audit_complete", "document", "served", "served_version",
                "created_at", "updated_at",
            ), contacts)
            _copy(db, QaContactCustomField, (
                "contact_id", "stream_id", "key", "value", "started_at", "direction", "duration_ms",
            ), fields)
            for model, rows in content.items():
                _copy(db, model, content_columns(model), rows)
            db.commit()
            written[0] += len(interactions)
            written[2] += len(contacts)
            written[1] += len(links)
            written[3] += len(content[Conversation])
    return written[0], written[1], written[2], written[3]


def _contact_ordinal(index: int, step: float, templates: Templates) -> int | None:
    """The contact number of interaction ``index``, or None when it gets no contact.

    Interactions with a template contact are ranked (the rank repeats with the templates'
    period, so it is computed, not counted); the first rank of every ``step``-wide bucket gets one.
    """
    ranks = templates.eligible_ranks
    rank_in_period = ranks.get(index % len(templates.interactions))
    if rank_in_period is None:
        return None
    rank = (index // len(templates.interactions)) * len(ranks) + rank_in_period
    bucket = math.floor(rank / step)
    return bucket if rank == 0 or bucket != math.floor((rank - 1) / step) else None


def _copy(db: psycopg.Connection, model: type, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with db.cursor().copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def indexes_drop(url: str, *, tables: list[str]) -> list[str]:
    """Drop the plain indexes of ``tables`` (none that backs a key or a constraint); their definitions.

    For the content tables' load: one build per index after COPY (a sort, or one GIN build) costs
    much less than keeping seven tables' indexes — the search vectors' GIN among them — up to date row
    by row. :func:`indexes_create` builds them again from the definitions PostgreSQL gives.
    """
    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(%s) AND NOT i.indisprimary "
            "AND NOT i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY 1",
            [tables],
        ).fetchall()
        for name, _definition in rows:
            db.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in rows]


def indexes_create(url: str, definitions: list[str]) -> None:
    """Build the indexes of :func:`indexes_drop` again.

    A partitioned table's index is defined ``ON ONLY`` the parent: built as it reads, it would be an
    invalid index of the parent alone, with none on the partitions (every benchmark of the content
    tables ran without their window indexes until this was seen). Without ``ONLY`` PostgreSQL builds
    it on each partition and attaches them.
    """
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            db.execute(definition.replace(" ON ONLY ", " ON ", 1))


@dataclass
class LoadReport:
    interactions: int
    queue_links: int
    qa_contacts: int
    seconds: float
    analyze_seconds: float
    templates: Templates = field(repr=False)
    conversations: int = 0
    templates_seconds: float = 0.0
    messages_per_conversation: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return (self.interactions + self.qa_contacts + self.conversations) / self.seconds


def accounts_ensure(scale: Scale) -> list[Account]:
    """The benchmark accounts: ``bench0…`` with one stream each (the second is the neighbour)."""
    return [
        account_ensure(
            account_id=f"bench{number:019d}", org_id=f"o-bench-{number}", bot_ids=[f"st-bench-{number}"]
        )
        for number in range(scale.accounts)
    ]


def dataset_load(*, url: str, scale: Scale, window_end: datetime, workers: int = 2) -> LoadReport:
    """Fill every benchmark account with ``scale`` rows ending at ``window_end``.

    1. Make the templates through the ingestion path (in this process, through Django).
    2. Reserve primary-key ranges for every account, so workers COPY explicit ids without a
       round-trip to the sequences, then move the sequences past them.
    3. COPY from ``workers`` processes in parallel, committing every few thousand rows.
    4. VACUUM ANALYZE: fresh statistics for the planner and a visibility map for index-only scans;
       then a CHECKPOINT and the OS's dirty pages flushed, so that no figure measures the load's writes.
    """
    templates_began = time.perf_counter()
    templates = templates_make(count=scale.templates, content=scale.content)
    templates_seconds = time.perf_counter() - templates_began
    accounts = accounts_ensure(scale)
    window_start_ms = _epoch_ms(window_end) - DAYS * 86_400_000
    targets = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM conversations_interaction")
        interaction_pk = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM qualityai_qacontact")
        contact_pk = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM content_conversation")
        conversation_pk = cursor.fetchone()[0] + 1
    for tag, account in enumerate(accounts):
        bot: Bot = account.bots.get()
        targets.append(LoadTarget(
            account_pk=account.pk, account_tag=tag, bot_pk=bot.pk, bot_id=bot.bot_id, org_id=account.org_id,
            window_start_ms=window_start_ms, interactions=scale.interactions, qa_contacts=scale.qa_contacts,
            interaction_pk0=interaction_pk, contact_pk0=contact_pk, conversation_pk0=conversation_pk,
        ))
        interaction_pk += scale.interactions
        contact_pk += scale.qa_contacts
        conversation_pk += scale.interactions
    jobs = [
        (url, target, templates, begin, end)
        for target in targets
        for begin, end in _chunks(target.interactions, workers)
    ]
    began = time.perf_counter()
    deferred = indexes_drop(url, tables=[model._meta.db_table for model in CONTENT_MODELS]) if scale.content else []
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        counts = pool.map(_copy_range, jobs)
    indexes_create(url, deferred)
    loaded = time.perf_counter() - began
    with psycopg.connect(url, autocommit=True) as db:
        for table in ("conversations_interaction", "qualityai_qacontact", "content_conversation"):
            db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        # What ingestion records beside each record (changes.services.changes_record), COPY did not.
        db.execute(
            "INSERT INTO changes_change (account_id, dataset, key, op, txid, changed_at) "
            "SELECT account_id, 'interactions', session_id, 'upsert', 0, now() FROM conversations_interaction "
            "ORDER BY id"
        )
        db.execute(
            "INSERT INTO changes_change (account_id, dataset, key, op, txid, changed_at) "
            "SELECT c.account_id, 'qa_contacts', b.bot_id || '/' || c.conversation_id, 'upsert', 0, now() "
            "FROM qualityai_qacontact c JOIN analytics_api_bot b ON b.id = c.stream_id ORDER BY c.id"
        )
        analyze_began = time.perf_counter()
        db.execute("VACUUM ANALYZE")
        # The kept day counts of rawdata's totals (qualityai.day_counts), as ingestion would have left
        # them once the schedule ran: counted after the VACUUM so that each day's count is index-only.
        streams_days_mark()
        while day_counts_refresh():
            pass
        db.execute("VACUUM ANALYZE qualityai_qadaycount, qualityai_qavaluedaycount, qualityai_qadaydirty")
        analyzed = time.perf_counter() - analyze_began
        # The load's gigabytes written to disk now rather than during the first figures. (It did not
        # remove the interactionDetails p99 stalls of 2026-12-04 and -05: BENCHMARKS.md, run of d96baeb.)
        db.execute("CHECKPOINT")
    os.sync()
    _verify_served(targets)
    # Clones cycle through the templates evenly: the templates' mean is the data set's.
    messages = [t.extra["messages"] for t in templates.interactions if "messages" in t.extra]
    return LoadReport(
        interactions=sum(c[0] for c in counts), queue_links=sum(c[1] for c in counts),
        qa_contacts=sum(c[2] for c in counts), seconds=loaded, analyze_seconds=analyzed, templates=templates,
        conversations=sum(c[3] for c in counts), templates_seconds=templates_seconds,
        messages_per_conversation=statistics.mean(messages) if messages else 0.0,
    )


def _verify_served(targets: list[LoadTarget], samples: int = 200) -> None:
    """Cloned pre-rendered texts must serve what rendering their rows serves (same values).

    Values, not bytes: the texts keep the key order of the records as sent, which PostgreSQL's
    jsonb does not keep for the documents.
    """
    every = {name: [] for name in SECTIONS}
    pks = [
        target.interaction_pk0 + number * target.interactions // samples
        for target in targets
        for number in range(samples)
    ]
    for pk, document, served in Interaction.objects.filter(pk__in=pks).values_list("pk", "document", "served"):
        if orjson.loads(served_page([served], offset=0, sections=every)) != [
            document_render(document, offset=0, sections=every)
        ]:
            raise RuntimeError(f"interaction {pk}: the cloned pre-rendered text differs from its document")
    contact_pks = [
        target.contact_pk0 + number * target.qa_contacts // samples for target in targets for number in range(samples)
    ]
    for contact in QaContact.objects.filter(pk__in=contact_pks):
        served = served_result(contact.served, duration_ms=contact.duration_ms, min_duration_ms=0, recordings=None)
        if orjson.loads(served) != contact_result(contact, min_duration_ms=0):
            raise RuntimeError(f"contact {contact.pk}: the cloned pre-rendered result differs from its row")


def interaction_lines(
    *, templates: Templates, count: int, account_tag: int, bot_id: str, org_id: str, start: datetime
) -> Iterator[bytes]:
    """``count`` ingestion records (JSON lines) cloned from the templates, one second apart."""
    target = LoadTarget(
        account_pk=0, account_tag=account_tag, bot_pk=0, bot_id=bot_id, org_id=org_id, window_start_ms=_epoch_ms(start),
        interactions=count, qa_contacts=0, interaction_pk0=0, contact_pk0=0,
    )
    for index in range(count):
        template = templates.interactions[index % len(templates.interactions)]
        yield template.render(start_ms=_start_ms(target, index, template), ids=_clone_ids(target, index)).encode()


def contact_lines(*, templates: Templates, count: int, account_tag: int, start: datetime) -> Iterator[bytes]:
    """``count`` Quality AI contact records (JSON lines) cloned from the template contacts."""
    target = LoadTarget(
        account_pk=0, account_tag=account_tag, bot_pk=0, bot_id="", org_id="", window_start_ms=_epoch_ms(start),
        interactions=count, qa_contacts=0, interaction_pk0=0, contact_pk0=0,
    )
    contacts = list(templates.contacts.values())
    for index in range(count):
        contact = contacts[index % len(contacts)]
        yield contact.render(start_ms=_start_ms(target, index, contact), ids=_clone_ids(target, index)).encode()
