"""Demo Quality AI contacts: realistic, deterministic, linked to the demo conversations."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conversations.demo import DemoConversation
from qualityai.demo import DemoContactFactory, contacts_seed
from qualityai.models import QaContact
from tests.conftest import Tenant
from tests.factories import BotFactory
from tests.qualityai.conftest import ok, rawdata

pytestmark = pytest.mark.django_db

START = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


def conversations(count: int = 120) -> list[DemoConversation]:
    rng = random.Random(7)
    items = []
    for n in range(count):
        started = START + timedelta(minutes=5 * n)
        channel = ("voice", "rtm", "email")[n % 3]
        items.append(DemoConversation(
            conversation_id=f"c-{n:08d}-1111-4111-8111-111111111111",
            session_id=f"{n:024x}",
            channel=channel,
            direction="outbound" if n % 7 == 0 else "inbound",
            started_at=started,
            ended_at=started + timedelta(seconds=rng.randint(30, 900)),
            bot_id="st-demo",
            queue_names=("Billing",) if n % 2 else ("Default Queue", "Technical Support"),
            agent_names=("Jane Doe",) if n % 2 else ("John Doe", "Mei Chen"),
        ))
    return items


def test_one_contact_per_voice_or_chat_conversation_in_the_first_stream(tenant: Tenant) -> None:
    BotFactory(account=tenant.account)  # a second, later bot: not the demo stream
    demo = conversations()

    stored = contacts_seed(account=tenant.account, conversations=demo, seed=3)

    voice_and_chat = {c.conversation_id for c in demo if c.channel in ("voice", "rtm")}
    assert stored == len(voice_and_chat) == 80
    assert set(QaContact.objects.filter(stream=tenant.bot).values_list("conversation_id", flat=True)) == voice_and_chat


def test_same_seed_same_contacts_and_reseeding_never_duplicates(tenant: Tenant) -> None:
    contacts_seed(account=tenant.account, conversations=conversations(), seed=3)
    first = dict(QaContact.objects.values_list("conversation_id", "document"))

    again = contacts_seed(account=tenant.account, conversations=conversations(), seed=3)

    assert again == 80
    assert QaContact.objects.count() == 80
    assert dict(QaContact.objects.values_list("conversation_id", "document")) == first


def test_a_different_seed_gives_different_contacts() -> None:
    demo = conversations(10)
    one = [DemoContactFactory(rng=random.Random(1), conversation=c) for c in demo]
    other = [DemoContactFactory(rng=random.Random(2), conversation=c) for c in demo]

    assert one != other


def test_demo_contacts_exercise_every_rule_of_rawdata(tenant: Tenant) -> None:
    contacts_seed(account=tenant.account, conversations=conversations(), seed=3)
    body: dict[str, Any] = {"offset": 0, "startDate": "2026-05-02", "endDate": "2026-05-03", "limit": 100,
                            "include_below_threshold": True}

    results = ok(rawdata(tenant, body))["results"]

    statuses = Counter(r["duration_status"] for r in results)
    assert set(statuses) == {"evaluated", "below_threshold", "duration_unavailable"}
    assert any(r["Kore Evaluation Score"] == "NA" for r in results)
    assert any(r["is_direction_defaulted"] for r in results)
    assert any("customConversationId" in r for r in results)
    audited = [r for r in results if r["Audit Status"] == "Audited"]
    assert audited and all("Audit Score" in r and r["Audit Date"] and r["Auditor Name"] for r in audited)
    assert all("Audit Score" not in r for r in results if r["Audit Status"] != "Audited")
    evaluated = [r for r in results if r["Kore Evaluation Score"] != "NA"]
    assert all(r["Metrics"] and r["Configured_Intents"]["topics"] for r in evaluated)
    assert any(m["justification"] for r in evaluated for m in r["Metrics"])
    levels = {r["Configured_Intents"]["topics"][0]["L2_topics"][0]["L3_topics"][0]["topic_name"] for r in results}
    assert len(levels) > 3
    assert all(set(r["custom_fields"]) == {"Region", "CustomerTier", "CallType", "DurationBucket"} for r in results)
    assert {r["src"] for r in results} == {"voice", "rtm"}


def test_demo_custom_fields_are_filterable(tenant: Tenant) -> None:
    contacts_seed(account=tenant.account, conversations=conversations(), seed=3)
    body: dict[str, Any] = {"offset": 0, "startDate": "2026-05-02", "endDate": "2026-05-03", "limit": 100}

    everything = ok(rawdata(tenant, body))
    gold_us = ok(rawdata(tenant, {**body, "custom_fields": {"CustomerTier": "Gold", "Region": ["US", "UK"]}}))

    assert 0 < gold_us["totalResults"] < everything["totalResults"]
    assert all(
        r["custom_fields"]["CustomerTier"] == "Gold" and r["custom_fields"]["Region"] in ("US", "UK")
        for r in gold_us["results"]
    )
