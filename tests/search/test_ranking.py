"""The ranking table: a fixed corpus and the order, tiers and totals of a dozen queries (docs/search.md#ranking)."""

from __future__ import annotations

from typing import Any

import pytest

from analytics_api.kernel.errors import ApiError
from tests.conftest import Tenant
from tests.search.conftest import conversation, ranking, said, search, transcript

# Session ids of the platform's shape, named by case.
PHRASE, APART, SOME, STOP, ASSIST, HOLD = (f"68db745779cb8cebd651000{n}" for n in range(1, 7))


@pytest.fixture
def corpus(tenant: Tenant) -> Tenant:
    """One conversation per case; each newer than the one before (minute 10 … 60)."""
    cases = {
        PHRASE: transcript(("customer", "My refund was not received."), ("bot", "Sorry. Refund not received, noted.")),
        APART: transcript(("customer", "I want a refund for my order"), ("bot", "Let me check."),
                          ("customer", "The parcel was received damaged")),
        SOME: transcript(("customer", "Question about your refund policy")),
        STOP: transcript(("customer", "It was not there at all")),
        ASSIST: transcript(("customer", "Hello"),
                           said("agent", "Customer says the refund was not received", kind="agent_ai")),
        HOLD: transcript(("agent", "Please hold"), said("system", "", kind="hold_start"),
                         ("customer", "refund not received zebra"), said("system", "", kind="hold_end"),
                         ("agent", "Thanks for waiting")),
    }
    for minute, (name, messages) in enumerate(cases.items(), start=1):
        conversation(tenant, minute=minute * 10, messages=messages, session_id=name)
    return tenant


TABLE: list[tuple[str, dict[str, Any], list[tuple[str, int]]]] = [
    # The phrase, its words consecutive in one message, first; the agent-assist log counts unless excluded.
    ("refund not received", {}, [(PHRASE, 1), (ASSIST, 1), (APART, 2), (SOME, 3)]),
    ("refund not received", {"exclude_agent_ai": True}, [(PHRASE, 1), (APART, 2), (SOME, 3)]),
    # Case, punctuation, stems and accents are folded.
    ("REFUND, Not Received!", {}, [(PHRASE, 1), (ASSIST, 1), (APART, 2), (SOME, 3)]),
    ("refunds received", {}, [(PHRASE, 1), (ASSIST, 1), (APART, 2), (SOME, 3)]),
    ("réfund nöt récéived", {}, [(PHRASE, 1), (ASSIST, 1), (APART, 2), (SOME, 3)]),
    # The words in another order are not the phrase: every word (tier 2), then some (tier 3).
    ("received refund", {}, [(PHRASE, 2), (ASSIST, 2), (APART, 2), (SOME, 3)]),
    # Words apart in one conversation (another word between them) are tier 2.
    ("parcel damaged", {}, [(APART, 2)]),
    ("refund policy", {}, [(SOME, 1), (PHRASE, 3), (ASSIST, 3), (APART, 3)]),
    # One word: every conversation holding it is a phrase match; more occurrences first, then the newest.
    ("refund", {}, [(PHRASE, 1), (ASSIST, 1), (SOME, 1), (APART, 1)]),
    ("refund", {"sort": "start_asc"}, [(PHRASE, 1), (APART, 1), (SOME, 1), (ASSIST, 1)]),
    ("refund", {"sort": "start_desc"}, [(ASSIST, 1), (SOME, 1), (APART, 1), (PHRASE, 1)]),
    # The customer's speech on hold is never searched; the agent's words around the hold are.
    ("zebra", {}, []),
    ("hold", {}, [(HOLD, 1)]),
    # A session id is matched first (tier 0), before any full-text match.
    (SOME, {}, [(SOME, 0)]),
]


@pytest.mark.parametrize(("q", "options", "expected"), TABLE, ids=[f"{q} {o}" for q, o, _ in TABLE])
def test_ranking_table(corpus: Tenant, q: str, options: dict[str, Any], expected: list[tuple[str, int]]) -> None:
    found, total = ranking(corpus, q, **options)
    assert found == expected
    assert total == len(expected)


def test_a_query_of_stop_words_only_is_refused(corpus: Tenant) -> None:
    with pytest.raises(ApiError) as refused:
        search(corpus, "it was not there at all")
    assert refused.value.status_code == 400
    assert refused.value.errors == [{
        "msg": "q holds only stop words (articles, pronouns, prepositions and the like), which the search "
        "ignores: add a significant word.",
        "code": "only_stop_words", "field": "q",
    }]


def test_pages_follow_one_another_without_overlap(corpus: Tenant) -> None:
    first = search(corpus, "refund not received", limit=3)
    second = search(corpus, "refund not received", limit=3, cursor=first.next_cursor)
    assert [hit.conversation.session_id for hit in first.hits] == [PHRASE, ASSIST, APART]
    assert [hit.conversation.session_id for hit in second.hits] == [SOME]
    assert (first.total, second.total, second.next_cursor) == (4, 4, None)


def test_a_cursor_of_another_search_is_refused(corpus: Tenant) -> None:
    first = search(corpus, "refund", limit=1)
    with pytest.raises(ApiError) as refused:
        search(corpus, "policy", limit=1, cursor=first.next_cursor)
    assert refused.value.errors[0]["field"] == "cursor"
    with pytest.raises(ApiError) as garbled:
        search(corpus, "refund", limit=1, cursor="not-a-cursor")
    assert garbled.value.errors == [{
        "msg": "cursor is not one this search returned: send the nextCursor of the previous page unchanged, with "
        "the same q, sort and excludeAgentAi; a relevance cursor from before the ranking changed is refused too: "
        "start again from the first page.",
        "code": "invalid_cursor", "field": "cursor",
    }]


def test_a_relevance_cursor_made_under_other_scores_is_refused(corpus: Tenant, monkeypatch: Any) -> None:
    # A cursor holds its last row's score: continuing the order of new scores from an old one could
    # skip or repeat matches. Start-time orders hold no score and keep their cursors.
    monkeypatch.setattr("search.selectors.RANKING_VERSION", 1)
    relevance = search(corpus, "refund", limit=1)
    by_start = search(corpus, "refund", limit=1, sort="start_desc")
    monkeypatch.undo()
    with pytest.raises(ApiError) as refused:
        search(corpus, "refund", limit=1, cursor=relevance.next_cursor)
    assert [(error["code"], error["field"]) for error in refused.value.errors] == [("invalid_cursor", "cursor")]
    following = search(corpus, "refund", limit=1, sort="start_desc", cursor=by_start.next_cursor)
    assert [hit.conversation.session_id for hit in following.hits] == [SOME]


def test_equal_relevance_lists_the_newest_first(tenant: Tenant) -> None:
    for minute in (5, 25, 15):
        conversation(tenant, minute=minute, messages=transcript(("customer", "invoice missing")))
    found, _ = ranking(tenant, "invoice missing")
    minutes = [tenant.account.conversations.get(session_id=session).started_at.minute for session, _ in found]
    assert minutes == [25, 15, 5]


def test_a_phrase_never_spans_two_messages(tenant: Tenant) -> None:
    row = conversation(tenant, minute=1, messages=transcript(("customer", "I want my refund"), ("bot", "Received.")))
    assert ranking(tenant, "refund received") == ([(row.session_id, 2)], 1)


def test_a_phrase_after_thousands_of_words_is_still_exact(tenant: Tenant) -> None:
    # Past PostgreSQL's 16,383 positions per vector and 255 positions per word.
    filler = [("agent", " ".join(f"order{n % 50} refund" for n in range(400))) for _ in range(25)]
    row = conversation(tenant, minute=1, messages=transcript(*filler, ("customer", "refund not received")))
    other = conversation(tenant, minute=2, messages=transcript(*filler, ("customer", "received late")))
    assert ranking(tenant, "refund not received") == ([(row.session_id, 1), (other.session_id, 2)], 2)


def test_within_a_tier_more_of_the_querys_words_outrank_one_word_repeated(tenant: Tenant) -> None:
    # Both hold some of the words only (tier 3). The newer one says "refund" four times, the older
    # one "refund" and "parcel" once each: each further occurrence of a word counts less, so the
    # older one comes first on both engines. Unrelated conversations make the words rare enough for
    # SQLite's bm25 to weigh them.
    for minute in range(1, 5):
        conversation(tenant, minute=minute, messages=transcript(("customer", "Thanks for the help, goodbye")))
    repeated = conversation(tenant, minute=30, session_id="repeated", messages=transcript(
        ("customer", "Refund please. Refund! I want a refund, a refund today.")))
    varied = conversation(tenant, minute=20, session_id="varied",
                          messages=transcript(("customer", "A refund for the parcel")))
    assert ranking(tenant, "refund parcel invoice") == ([(varied.session_id, 3), (repeated.session_id, 3)], 2)


def test_a_phrase_conversations_other_vectors_holding_a_word_add_to_its_score(tenant: Tenant) -> None:
    # Both hold the phrase in the customer's words; the older one's agent-assist log (a vector of
    # its own on PostgreSQL) also says "refund": it scores higher and comes first, newer or not.
    assisted = conversation(tenant, minute=10, session_id="assisted", messages=transcript(
        ("customer", "My refund was not received."), said("agent", "Offer the refund form", kind="agent_ai"),
    ))
    plain = conversation(tenant, minute=20, session_id="plain",
                         messages=transcript(("customer", "My refund was not received.")))
    assert ranking(tenant, "refund not received") == ([(assisted.session_id, 1), (plain.session_id, 1)], 2)
    assert ranking(tenant, "refund not received", exclude_agent_ai=True) == (
        [(plain.session_id, 1), (assisted.session_id, 1)], 2
    )
