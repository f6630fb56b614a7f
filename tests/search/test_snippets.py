"""Snippets and highlight ranges: they point at the matched words (docs/search.md#snippets)."""

from __future__ import annotations

from search.snippets import SNIPPET_LENGTH, transcript_matches
from search.text import search_query_parse
from tests.conftest import Tenant
from tests.search.conftest import conversation, said, search, transcript


def highlighted(snippet: dict) -> list[str]:
    return [snippet["text"][r["start"]:r["end"]] for r in snippet["highlights"]]


def test_snippets_highlight_the_phrase_and_the_words(tenant: Tenant) -> None:
    conversation(
        tenant, minute=1,
        messages=transcript(("customer", "Hello there"), ("customer", "My Refund was not received, refund me!"),
                            ("bot", "A refund takes days")),
        notes=[{"id": "n1", "time": "2025-09-30T06:05:00.000Z", "author": "u-agent", "text": "Refund promised"}],
    )
    page = search(tenant, "refund not received")
    [hit] = page.hits
    assert hit.tier == 1
    assert [(s["source"], s["id"], s["field"]) for s in hit.snippets] == [
        ("message", "m0001", "text"), ("message", "m0002", "text"), ("note", "n1", "text"),
    ]
    assert [highlighted(s) for s in hit.snippets] == [
        ["Refund was not received", "refund"], ["refund"], ["Refund"],
    ]


def test_the_three_best_units_are_served_most_words_then_most_highlights(tenant: Tenant) -> None:
    # Units are ranked on their terms alone; only the three served are split into placed words.
    conversation(tenant, minute=1, messages=transcript(
        ("customer", "Where is my parcel?"),  # one word, one highlight
        ("customer", "Parcel after parcel goes missing"),  # one word, two highlights
        ("agent", "Lost, you say? Which parcel?"),  # both words apart: two highlights
        ("customer", "The parcel was lost"),  # both words as the phrase: one highlight
        ("agent", "Nothing is ever lost"),  # one word, one highlight
    ))
    [hit] = search(tenant, "parcel lost").hits
    assert [(s["id"], highlighted(s)) for s in hit.snippets] == [
        ("m0002", ["Lost", "parcel"]), ("m0003", ["parcel was lost"]), ("m0001", ["Parcel", "parcel"]),
    ]


def test_a_long_message_gives_an_excerpt_around_the_match(tenant: Tenant) -> None:
    text = "word " * 100 + "the parcel was lost " + "filler " * 100
    conversation(tenant, minute=1, messages=transcript(("customer", text)))
    [snippet] = search(tenant, "parcel lost").hits[0].snippets
    assert len(snippet["text"]) <= SNIPPET_LENGTH
    assert snippet["text"] in text
    assert highlighted(snippet) == ["parcel was lost"]


def test_subjects_notes_and_remarks_are_searched(tenant: Tenant) -> None:
    conversation(
        tenant, minute=1, messages=transcript(said("customer", "See attached", email={"subject": "Broken charger"})),
    )
    conversation(tenant, minute=2, dispositionRemarks=["Customer wants a charger replacement"])
    found = {hit.conversation.sections.get("dispositionRemarks") is not None: hit.snippets
             for hit in search(tenant, "charger").hits}
    assert [(s["source"], s["field"], highlighted(s)) for s in found[False]] == [("message", "subject", ["charger"])]
    assert [(s["source"], highlighted(s)) for s in found[True]] == [("dispositionRemarks", ["charger"])]


def test_agent_ai_snippets_are_left_out_when_excluded(tenant: Tenant) -> None:
    conversation(tenant, minute=1, messages=transcript(
        said("agent", "Suggest a voucher", kind="agent_ai"), ("agent", "Here is a voucher"),
    ))
    [hit] = search(tenant, "voucher", exclude_agent_ai=True).hits
    assert [s["id"] for s in hit.snippets] == ["m0001"]


def test_in_conversation_search_counts_occurrences_per_message() -> None:
    messages = transcript(
        ("customer", "Refund not received. Where is my refund?"),
        ("bot", "Checking"),
        said("customer", "see below", email={"subject": "Refund request"}),
    )
    matches = transcript_matches(messages, search_query_parse("refund not received"))
    assert [m["occurrences"] for m in matches] == [2, 0, 1]
    assert matches[0]["highlights"] == [
        {"field": "text", "start": 0, "end": 19}, {"field": "text", "start": 33, "end": 39},
    ]
    assert matches[2]["highlights"] == [{"field": "subject", "start": 0, "end": 6}]
