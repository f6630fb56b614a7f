"""The diagnostics endpoint: flow offsets and directions, QoS arithmetic, participants, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_tenant
from tests.content.factories import ConversationFactory
from tests.diagnostics.conftest import CARRIER, GATEWAY, MEDIA, path

pytestmark = pytest.mark.django_db


def test_flow_is_in_time_order_with_offsets_from_the_first_message(tenant: Any, call: Any) -> None:
    response = tenant.get(path("call-1"))

    assert response.status_code == 200
    flow = response.json()["flow"]
    assert [(item["label"], item["offset"]) for item in flow] == [
        ("INVITE", "+0.000s"), ("100 Trying", "+0.012s"), ("200 OK", "+1.500s"), ("ACK", "+1.520s"),
        ("RTCP", "+5.000s"), ("RTCP", "+7.000s"), ("RTCP", "+10.000s"), ("BYE", "+60.250s"),
    ]
    assert flow[-1]["time"] == "2025-09-30T10:01:00.250Z"


def test_flow_items_carry_direction_ports_and_the_diagram_arrow(tenant: Any, call: Any) -> None:
    flow = tenant.get(path("call-1")).json()["flow"]

    invite, trying = flow[0], flow[1]
    assert invite["direction"] == f"{CARRIER} → {GATEWAY}" and invite["arrow"] == "→"
    assert trying["direction"] == f"{GATEWAY} → {CARRIER}" and trying["arrow"] == "←"
    assert invite["from"] == {"ip": CARRIER, "port": 5060} and invite["to"] == {"ip": GATEWAY, "port": 5060}
    assert invite["message"].startswith("INVITE sip:+12513254563@gw.example.com SIP/2.0\r\n")
    media_report = flow[4]
    assert media_report["type"] == "rtcp" and media_report["arrow"] == "←"  # media server is right of the gateway
    assert media_report["report"]["mos"] == 4.4


def test_endpoints_are_served_in_the_order_ingested(tenant: Any, call: Any) -> None:
    assert tenant.get(path("call-1")).json()["endpoints"] == [CARRIER, GATEWAY, MEDIA, GATEWAY]


def test_qos_statistics_overall_and_per_connection(tenant: Any, call: Any) -> None:
    qos = tenant.get(path("call-1")).json()["qos"]

    assert qos["reports"] == 3
    overall = qos["overall"]
    assert overall["packets"] == {"min": 100, "average": 200, "max": 300}
    assert overall["octets"] == {"min": 16000, "average": 32000, "max": 48000}
    assert overall["highestSeq"] == {"min": 500, "average": 633.33, "max": 800}
    assert overall["jitter"] == {"min": 0, "average": 2, "max": 4}
    assert overall["lsr"] == {"min": 1000, "average": 2000, "max": 3000}  # the report without LSR is skipped
    assert overall["mos"] == {"min": 2.5, "average": 3.6, "max": 4.4}
    assert overall["packetsLost"] == {"min": 0, "average": 1.33, "max": 3}
    media, carrier = qos["connections"]
    assert (media["source"], media["destination"], media["reports"]) == (MEDIA, GATEWAY, 2)
    assert media["metrics"]["mos"] == {"min": 3.9, "average": 4.15, "max": 4.4}
    assert (carrier["source"], carrier["reports"]) == (CARRIER, 1)
    assert carrier["metrics"]["lsr"] == {"min": None, "average": None, "max": None}
    assert [point["time"] for point in qos["series"]] == [
        "2025-09-30T10:00:05.000Z", "2025-09-30T10:00:07.000Z", "2025-09-30T10:00:10.000Z",
    ]


def test_participants_status_na_end_and_sample_statistics(tenant: Any, call: Any) -> None:
    dana, sam = tenant.get(path("call-1")).json()["participants"]

    assert dana == {
        "name": "Dana Reyes", "external": True, "tag": "External Agent", "status": "Left",
        "start": "2025-09-30T10:00:02.000Z", "end": "2025-09-30T10:00:40.000Z",
        "exitReason": "Transfer", "exitDescription": "Sent to billing", "averageMos": 3.5,
        "mos": {"min": 3.0, "average": 3.5, "max": 4.0}, "jitter": {"min": 2, "average": 4, "max": 6},
        "packetsLost": {"min": 0, "average": 2, "max": 4},
    }
    assert (sam["status"], sam["end"], sam["tag"], sam["external"]) == ("In-Call", "NA", None, False)
    assert sam["averageMos"] is None and sam["mos"] == {"min": None, "average": None, "max": None}


def test_a_voice_call_without_diagnostics_has_an_empty_flow(tenant: Any) -> None:
    ConversationFactory(account=tenant.account, channel="voice", session_id="quiet")

    body = tenant.get(path("quiet")).json()

    assert body["flow"] == [] and body["participants"] == [] and body["qos"]["reports"] == 0


@pytest.mark.parametrize("channel", ["rtm", "email"])
def test_a_chat_or_email_conversation_is_409(tenant: Any, channel: str) -> None:
    ConversationFactory(account=tenant.account, channel=channel, session_id="chat-1")

    response = tenant.get(path("chat-1"))

    assert response.status_code == 409
    assert response.json() == {"errors": [{
        "msg": "Diagnostics are available only for voice conversations.", "code": "not_voice",
    }]}


def test_another_accounts_call_is_404_in_every_format(tenant: Any, outsider: Any, call: Any) -> None:
    for query in ("", "?format=text", "?format=pcap"):
        response = outsider.get(path("call-1", query))
        assert response.status_code == 404
        assert response.json()["errors"] == [{
            "msg": "No conversation 'call-1' in this account.", "code": "not_found",
            "field": "sessionId",
        }]


def test_an_unknown_format_is_400_naming_it(tenant: Any, call: Any) -> None:
    response = tenant.get(path("call-1", "?format=csv"))

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"msg": "format must be json, text or pcap.", "code": "invalid_choice", "field": "format"}
    ]


def test_the_read_needs_the_conversations_read_scope(db: Any) -> None:
    reader = make_tenant(scopes=["smartassist.analytics"])
    ConversationFactory(account=reader.account, channel="voice", session_id="call-2")

    assert reader.get(path("call-2")).status_code == 403


def test_the_read_is_a_constant_number_of_queries(tenant: Any, call: Any, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(6):
        assert tenant.get(path("call-1")).status_code == 200
