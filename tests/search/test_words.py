"""Words as the search sees them: stems, accents, case, stop words and the limits of q (docs/search.md#words)."""

from __future__ import annotations

import sys
import threading

import pytest

from analytics_api.kernel.errors import ApiError
from search.text import (
    MAX_QUERY_LENGTH,
    MAX_QUERY_WORDS,
    highlight_ranges,
    phrase_spans,
    search_query_parse,
    text_terms,
    text_tokens,
    word_stem,
)
from tests.conftest import Tenant
from tests.search.conftest import conversation, ranking, transcript


@pytest.mark.parametrize(("written", "searched"), [
    ("We refunded you yesterday", "refund"),
    ("Two refunds are pending", "refunding"),
    ("The café was closed", "cafe"),
    ("Ärger mit der Rechnung", "arger"),
    ("Straße gesperrt", "STRASSE"),
    ("Cancellation requested", "cancellations"),
])
def test_stems_accents_and_case_are_folded(tenant: Tenant, written: str, searched: str) -> None:
    row = conversation(tenant, minute=1, messages=transcript(("customer", written)))
    assert ranking(tenant, searched) == ([(row.session_id, 1)], 1)


def test_threads_stemming_at_once_each_get_their_own_words_stems() -> None:
    # The request threads of a worker stem at the same time; with the interpreter switching
    # threads every microsecond, a stemmer shared between them mixed their words within a few
    # hundred calls (IndexError, or another word's stem).
    words = ["refunded", "cancellations", "generously", "delivery", "hopefulness", "relational",
             "declined", "payments", "conditional", "organization", "electricity", "running"]
    expected = [word_stem(word) for word in words]
    stems: list[list[str]] = []
    failures: list[BaseException] = []

    def stem_many(offset: int) -> None:
        mine = words[offset:] + words[:offset]
        try:
            got = [word_stem(word) for _ in range(300) for word in mine]
        except BaseException as error:  # reported by the assertion below
            failures.append(error)
            return
        stems.append(got == [stem for _ in range(300) for stem in expected[offset:] + expected[:offset]])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=stem_many, args=(offset,)) for offset in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert stems == [True] * 8


def test_stop_words_are_left_out_of_the_terms() -> None:
    assert text_terms("The refund was NOT received by me") == ["refund", "receiv"]


@pytest.mark.parametrize("text", [
    "Order #4512-7781_22: refund_pending (REFUNDED!) x" + "9" * 64 + " ok",
    "tab\there, new\nline; a\x7fdel\x00nul — and the end.",
    "Café au lait, naïve Ärger: ﬁnal Straße",
    "",
    "   ",
])
def test_the_index_has_the_terms_the_snippets_find(text: str) -> None:
    # ASCII text is split without the regular expression that text_tokens uses: the same words.
    assert text_terms(text) == [token.stem for token in text_tokens(text)]


@pytest.mark.parametrize(("text", "q", "spans", "ranges"), [
    ("Refund was not received, refund me", "refund not received", [(0, 1), (2, 2)],
     ["Refund was not received", "refund"]),
    ("received refund", "refund received", [(0, 0), (1, 1)], ["received", "refund"]),
    ("card card payment declined card", "card payment", [(0, 0), (1, 2), (4, 4)], ["card", "card payment", "card"]),
    ("late late", "late", [(0, 0), (1, 1)], ["late", "late"]),
    ("nothing here", "refund", [], []),
])
def test_matches_are_the_same_on_terms_and_on_placed_words(
    text: str, q: str, spans: list[tuple[int, int]], ranges: list[str]
) -> None:
    # Snippets rank units on their terms and place the words of the served ones only.
    query = search_query_parse(q)
    assert phrase_spans(text_terms(text), query) == spans
    assert [text[start:end] for start, end in highlight_ranges(text_tokens(text), query)] == ranges


@pytest.mark.parametrize(("q", "msg", "code"), [
    ("   ", "q must not be blank.", "invalid"),
    ("x" * (MAX_QUERY_LENGTH + 1), f"q is {MAX_QUERY_LENGTH + 1} characters long; the limit is {MAX_QUERY_LENGTH}.",
     "out_of_range"),
    (" ".join(f"word{n}" for n in range(MAX_QUERY_WORDS + 1)),
     f"q has {MAX_QUERY_WORDS + 1} significant words; the limit is {MAX_QUERY_WORDS}.", "too_many"),
    ("to the of and", "q holds only stop words (articles, pronouns, prepositions and the like), which the search "
     "ignores: add a significant word.", "only_stop_words"),
])
def test_q_beyond_the_limits_is_refused(q: str, msg: str, code: str) -> None:
    with pytest.raises(ApiError) as refused:
        search_query_parse(q)
    assert (refused.value.status_code, refused.value.errors) == (400, [{"msg": msg, "code": code, "field": "q"}])


def test_stop_words_do_not_count_against_the_word_limit() -> None:
    q = " the ".join(f"word{n}" for n in range(MAX_QUERY_WORDS))
    assert len(search_query_parse(q).terms) == MAX_QUERY_WORDS


def test_runs_longer_than_a_word_are_not_indexed(tenant: Tenant) -> None:
    blob = "A" * 3000
    row = conversation(tenant, minute=1, messages=transcript(("customer", f"attachment {blob} sent")))
    assert ranking(tenant, "attachment sent") == ([(row.session_id, 1)], 1)
    assert text_terms(f"x{'y' * 64} ok") == ["ok"]
