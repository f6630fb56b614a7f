"""The demo's diagnostics: plausible calls, one degraded, an external agent who left early."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from diagnostics.demo import diagnostics_seed
from diagnostics.models import CallDiagnostics
from diagnostics.selectors import diagnostics_get
from tests.content.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_demo_calls_get_a_sip_dialogue_rtcp_and_participants(tenant: Any) -> None:
    for n in range(8):
        conversation = ConversationFactory(account=tenant.account, channel="voice", session_id=f"demo-{n}")
        conversation.ended_at = conversation.started_at + timedelta(minutes=2)
        conversation.save()
    ConversationFactory(account=tenant.account, channel="rtm", session_id="chat")

    assert diagnostics_seed(account=tenant.account, seed=1) == 8
    views = [diagnostics_get(account=tenant.account, session_id=f"demo-{n}") for n in range(8)]

    labels = [item["label"] for item in views[0].flow if item["type"] == "sip"]
    assert labels == ["INVITE", "100 Trying", "200 OK", "ACK", "BYE", "200 OK"]
    assert all(view.qos["reports"] >= 20 for view in views)
    degraded = views[3].qos["overall"]
    assert degraded["mos"]["max"] < 3.3 and degraded["packetsLost"]["min"] >= 4
    assert views[0].qos["overall"]["mos"]["min"] > 4
    external = views[1].participants[0]
    assert (external["tag"], external["status"], external["exitReason"]) == ("External Agent", "Left", "Transfer")
    assert external["end"] < views[1].participants[1]["end"]
    assert CallDiagnostics.objects.count() == 8


def test_the_demo_is_the_same_for_the_same_seed(tenant: Any) -> None:
    conversation = ConversationFactory(account=tenant.account, channel="voice", session_id="demo")
    diagnostics_seed(account=tenant.account, seed=7)
    first = CallDiagnostics.objects.get(conversation=conversation).document
    diagnostics_seed(account=tenant.account, seed=7)

    assert CallDiagnostics.objects.get(conversation=conversation).document == first
