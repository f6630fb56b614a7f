"""Search history: the caller's last ten phrases, newest first, one entry per phrase (docs/search.md#history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from search.caller import ACTING_USER_MESSAGE
from search.models import SearchPhrase
from search.services import search_history_record
from tests.conftest import Tenant, make_tenant

HISTORY = "/api/v1/conversations/search-history"
NOW = datetime(2025, 9, 30, 12, 0, tzinfo=UTC)


def searched(tenant: Tenant, *phrases: str, acting_user: str = "") -> None:
    for minute, phrase in enumerate(phrases):
        search_history_record(api_client=tenant.api_client, acting_user=acting_user, phrase=phrase,
                              now=NOW + timedelta(minutes=minute))


def history(tenant: Tenant, **headers: Any) -> list[str]:
    response = tenant.get(HISTORY, **headers)
    assert response.status_code == 200, response.content
    return [entry["phrase"] for entry in response.json()["results"]]


def test_the_history_lists_the_newest_first_with_times(tenant: Tenant) -> None:
    searched(tenant, "refund", "late parcel")
    response = tenant.get(HISTORY)
    assert response.json() == {"results": [
        {"phrase": "late parcel", "searchedAt": "2025-09-30T12:01:00.000Z"},
        {"phrase": "refund", "searchedAt": "2025-09-30T12:00:00.000Z"},
    ]}


def test_an_eleventh_phrase_drops_the_oldest(tenant: Tenant) -> None:
    searched(tenant, *(f"phrase {n}" for n in range(11)))
    assert history(tenant) == [f"phrase {n}" for n in range(10, 0, -1)]
    assert SearchPhrase.objects.count() == 10


def test_a_repeat_moves_to_the_top_once_whatever_its_case(tenant: Tenant) -> None:
    searched(tenant, "Refund not received", "late parcel", "refund  NOT received ")
    assert history(tenant) == ["refund NOT received", "late parcel"]


def test_each_acting_user_and_client_has_a_history_of_its_own(tenant: Tenant) -> None:
    colleague = make_tenant()
    colleague.api_client.account = tenant.account
    colleague.api_client.save()
    searched(tenant, "refund", acting_user="ana@example.com")
    searched(tenant, "parcel")
    searched(colleague, "invoice")
    assert history(tenant, **{"X-Acting-User": "ana@example.com"}) == ["refund"]
    assert history(tenant) == ["parcel"]
    assert history(colleague) == ["invoice"]


def test_delete_clears_only_the_callers_history(tenant: Tenant, outsider: Tenant) -> None:
    searched(tenant, "refund", acting_user="ana")
    searched(tenant, "parcel")
    searched(outsider, "invoice")
    response = tenant.http.delete(HISTORY, headers={"auth": tenant.token(), "X-Acting-User": "ana"})
    assert (response.status_code, response.content) == (204, b"")
    assert history(tenant, **{"X-Acting-User": "ana"}) == []
    assert history(tenant) == ["parcel"]
    assert history(outsider) == ["invoice"]


@pytest.mark.parametrize("acting_user", ["x" * 129, "ana\x07"])
def test_a_bad_acting_user_is_refused(tenant: Tenant, acting_user: str) -> None:
    response = tenant.get(HISTORY, **{"X-Acting-User": acting_user})
    assert response.status_code == 400
    assert response.json() == {"errors": [{"msg": ACTING_USER_MESSAGE, "code": "invalid", "field": "X-Acting-User"}]}


def test_the_history_needs_the_read_scope(db: Any) -> None:
    reader = make_tenant(scopes=["ingest"])
    assert reader.get(HISTORY).status_code == 403


def test_a_phrase_whose_case_folding_is_longer_is_saved_whole(tenant: Tenant) -> None:
    # "ß" folds to "ss" and "ﬄ" to "ffl": a phrase at the length limit folds to up to three times it.
    for phrase in (" ".join(["ß" * 24] * 10), " ".join(["ﬄ" * 20] * 10)):
        response = tenant.post("/api/v1/conversations/query", {
            "startDate": "2025-09-30", "endDate": "2025-09-30", "q": phrase,
        })
        assert response.status_code == 200, response.content
    assert history(tenant) == [" ".join(["ﬄ" * 20] * 10), " ".join(["ß" * 24] * 10)]
    assert sorted(len(key) for key in SearchPhrase.objects.values_list("phrase_key", flat=True)) == [489, 609]
