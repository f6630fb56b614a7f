"""The index follows the data: edits, appends, erasure; tenants never meet (docs/search.md#index-maintenance)."""

from __future__ import annotations

from typing import Any

import pytest

from content.models import Conversation, Transcript
from search import selectors
from search.models import SearchIdentifier, SearchMessage
from search.selectors import conversation_search
from search.services import search_index_refresh, search_index_remove
from tests.conftest import Tenant
from tests.search.conftest import conversation, ranking, search, transcript


def refresh(row: Conversation) -> None:
    search_index_refresh(account_id=row.account_id, conversation_ids=[row.pk])


def test_a_replaced_transcript_is_searched_as_it_is_now(tenant: Tenant) -> None:
    row = conversation(tenant, minute=1, messages=transcript(("customer", "my invoice is wrong")))
    Transcript.objects.filter(conversation=row).update(messages=transcript(("customer", "my parcel is late")))
    refresh(row)
    assert ranking(tenant, "invoice") == ([], 0)
    assert ranking(tenant, "parcel late") == ([(row.session_id, 1)], 1)


def test_an_appended_message_is_found(tenant: Tenant) -> None:
    row = conversation(tenant, minute=1, messages=transcript(("customer", "hello")))
    transcript_row = Transcript.objects.get(conversation=row)
    transcript_row.messages = [*transcript_row.messages, *transcript(("agent", "x"), ("customer", "card declined"))[1:]]
    transcript_row.save()
    refresh(row)
    assert ranking(tenant, "card declined") == ([(row.session_id, 1)], 1)


def test_edited_notes_and_remarks_are_found(tenant: Tenant) -> None:
    row = conversation(tenant, minute=1)
    row.sections = {"notes": [{"id": "n1", "text": "escalate to billing"}], "dispositionRemarks": ["fraud suspected"]}
    row.save()
    refresh(row)
    assert ranking(tenant, "escalate billing") == ([(row.session_id, 1)], 1)
    assert ranking(tenant, "fraud") == ([(row.session_id, 1)], 1)


def test_an_erased_conversation_is_never_found(tenant: Tenant) -> None:
    kept = conversation(tenant, minute=1, messages=transcript(("customer", "lost luggage")))
    erased = conversation(tenant, minute=2, messages=transcript(("customer", "lost luggage")))
    removed = conversation(tenant, minute=3, messages=transcript(("customer", "lost luggage")))
    erased.delete()
    search_index_remove(account_id=tenant.account.pk, conversation_ids=[removed.pk])
    assert ranking(tenant, "lost luggage") == ([(kept.session_id, 1)], 1)
    assert ranking(tenant, erased.session_id) == ([], 0)
    assert not SearchMessage.objects.filter(conversation_id__in=[erased.pk, removed.pk]).exists()
    assert not SearchIdentifier.objects.filter(conversation_id=erased.pk).exists()


def test_a_conversation_erased_while_a_page_is_read_is_left_out_of_it(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ranked statement and the page's read are two snapshots; an erasure can fall between them."""
    first, erased, third = (
        conversation(tenant, minute=minute, messages=transcript(("customer", "lost luggage"))) for minute in (3, 2, 1)
    )
    ranked_page = selectors.ranked_page

    def erasing_after_ranking(**statement: Any) -> Any:
        ranked = ranked_page(**statement)
        erased.delete()  # another request's erasure commits here
        return ranked

    monkeypatch.setattr(selectors, "ranked_page", erasing_after_ranking)
    page = search(tenant, "lost luggage", limit=2)
    assert ([hit.conversation.session_id for hit in page.hits], page.total) == ([first.session_id], 3)

    monkeypatch.undo()
    after = search(tenant, "lost luggage", limit=2, cursor=page.next_cursor)
    assert ([hit.conversation.session_id for hit in after.hits], after.total) == ([third.session_id], 2)


def test_a_refresh_of_a_missing_conversation_leaves_nothing(tenant: Tenant) -> None:
    row = conversation(tenant, minute=1, messages=transcript(("customer", "lost luggage")))
    Conversation.objects.filter(pk=row.pk).delete()
    refresh(row)
    assert SearchMessage.objects.count() == 0


def test_a_phrase_only_another_account_holds_finds_nothing(tenant: Tenant, outsider: Tenant) -> None:
    conversation(outsider, minute=1, messages=transcript(("customer", "secret merger plans")))
    mine = conversation(tenant, minute=1, messages=transcript(("customer", "merger")))
    assert ranking(tenant, "secret merger plans") == ([(mine.session_id, 3)], 1)
    assert ranking(tenant, "secret plans") == ([], 0)


def test_a_refresh_for_the_wrong_account_changes_nothing(tenant: Tenant, outsider: Tenant) -> None:
    row = conversation(tenant, minute=1, messages=transcript(("customer", "lost luggage")))
    search_index_refresh(account_id=outsider.account.pk, conversation_ids=[row.pk])
    assert ranking(tenant, "lost luggage") == ([(row.session_id, 1)], 1)


def test_the_window_and_filters_of_the_caller_apply(tenant: Tenant) -> None:
    early = conversation(tenant, minute=1, messages=transcript(("customer", "lost luggage")))
    conversation(tenant, minute=90, messages=transcript(("customer", "lost luggage")))
    page = search(tenant, "lost luggage")
    assert page.total == 2
    narrowed = conversation_search(
        account_id=tenant.account.pk, q="lost luggage",
        conversations=Conversation.objects.filter(account=tenant.account, started_at__lte=early.started_at),
    )
    assert [(hit.conversation.session_id, hit.tier) for hit in narrowed.hits] == [(early.session_id, 1)]


def test_a_page_reads_a_fixed_number_of_queries(tenant: Tenant, django_assert_num_queries: Any) -> None:
    for minute in range(30):
        conversation(tenant, minute=minute, messages=transcript(("customer", f"lost luggage number {minute}")),
                     notes=[{"id": "n", "text": "luggage"}])
    # The ranked page, then the page's conversations with their transcripts and interaction records.
    with django_assert_num_queries(2):
        page = search(tenant, "lost luggage", limit=25)
    assert (len(page.hits), page.total) == (25, 30)
    assert all(hit.snippets for hit in page.hits)
