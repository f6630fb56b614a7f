"""A query compiled once and run again with other values answers what the ORM answers for those values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import router

from analytics_api.kernel import compiled as compiled_module
from analytics_api.kernel.compiled import MAX_KEPT_LIST, CompiledQuery
from analytics_api.models import Account, ApiClient
from tests.factories import AccountFactory, ApiClientFactory

pytestmark = pytest.mark.django_db

BY_ACCOUNT_ID: CompiledQuery[Account] = CompiledQuery(
    lambda account_id: Account.objects.filter(account_id=account_id)[:1]
)
CLIENTS: CompiledQuery[ApiClient] = CompiledQuery(
    lambda accounts, since, name: ApiClient.objects.filter(
        account_id__in=accounts, created_at__gte=since, name=name, enabled=True
    ).order_by("-pk").values_list("pk", "scopes", "created_at")
)


def _clients_by_orm(accounts: list[int], since: datetime, name: str) -> list[tuple[Any, ...]]:
    return list(
        ApiClient.objects.filter(account_id__in=accounts, created_at__gte=since, name=name, enabled=True)
        .order_by("-pk").values_list("pk", "scopes", "created_at")
    )


def test_instances_are_the_orms_for_each_new_value(django_assert_num_queries: Any) -> None:
    first, second = AccountFactory(name="first"), AccountFactory(name="second")

    for account in (first, second):
        with django_assert_num_queries(1):
            (found,) = BY_ACCOUNT_ID.instances(account_id=account.account_id)
        assert (found.pk, found.account_id, found.name, found.created_at) == (
            account.pk, account.account_id, account.name, account.created_at
        )
        assert found._state.adding is False and found._state.db == "default"
    assert BY_ACCOUNT_ID.instances(account_id="no-such-account") == []


def test_rows_bind_lists_datetimes_and_convert_columns_as_the_orm_does() -> None:
    accounts = AccountFactory.create_batch(3)
    for account in accounts:
        ApiClientFactory(account=account, name="kept", scopes=["a.read", "ünïcødé"])
        ApiClientFactory(account=account, name="other")
    ApiClientFactory(account=accounts[0], name="kept", enabled=False)
    since = datetime.now(tz=UTC) - timedelta(hours=1)

    for chosen in ([accounts[0].pk], [accounts[1].pk, accounts[2].pk], [a.pk for a in accounts]):
        rows = CLIENTS.rows(accounts=chosen, since=since, name="kept")
        assert rows == _clients_by_orm(chosen, since, "kept")
        assert len(rows) == len(chosen)
        assert rows[0][1] == ["a.read", "ünïcødé"]  # JSON parsed
        assert rows[0][2].tzinfo is not None  # an aware datetime on every engine
    assert CLIENTS.rows(accounts=[a.pk for a in accounts], since=datetime.now(tz=UTC) + timedelta(hours=1),
                        name="kept") == []


def test_each_list_length_is_a_shape_of_its_own_and_long_lists_are_not_kept() -> None:
    query: CompiledQuery[Account] = CompiledQuery(
        lambda ids: Account.objects.filter(pk__in=ids).order_by("pk").values_list("pk")
    )
    accounts = AccountFactory.create_batch(3)
    ids = [account.pk for account in accounts]

    assert query.rows(ids=ids[:1]) == [(ids[0],)]
    assert query.rows(ids=ids) == [(pk,) for pk in ids]
    assert len(query._compiled) == 2
    many = ids + list(range(10**9, 10**9 + MAX_KEPT_LIST))
    assert query.rows(ids=many) == [(pk,) for pk in ids]
    assert len(query._compiled) == 2


def test_kept_shapes_are_bounded_and_the_least_recently_used_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled_module, "MAX_SHAPES", 3)
    query: CompiledQuery[Account] = CompiledQuery(lambda ids: Account.objects.filter(pk__in=ids).values_list("pk"))
    hot = [10**9]
    for length in range(2, 9):
        assert query.rows(ids=hot) == []  # used between every other shape: never dropped
        assert query.rows(ids=list(range(length))) == []
        assert len(query._compiled) <= 3
    assert ("ids", 1) in [key[1] for key in query._compiled]


def test_fixed_arguments_shape_the_sql_and_are_passed_as_they_are() -> None:
    """Offset and limit are written into the SQL by Django: each page is a shape of its own."""
    page: CompiledQuery[Account] = CompiledQuery(
        lambda org, skip, limit: Account.objects.filter(org_id=org).order_by("pk").values_list("pk")[
            skip : skip + limit
        ]
    )
    accounts = AccountFactory.create_batch(5, org_id="o-shared")
    AccountFactory(org_id="o-other")
    ids = [(account.pk,) for account in accounts]

    assert page.rows(org="o-shared", fixed={"skip": 0, "limit": 2}) == ids[0:2]
    assert page.rows(org="o-shared", fixed={"skip": 2, "limit": 2}) == ids[2:4]
    assert page.rows(org="o-shared", fixed={"skip": 4, "limit": 2}) == ids[4:5]
    assert page.rows(org="o-other", fixed={"skip": 0, "limit": 2}) == [(Account.objects.get(org_id="o-other").pk,)]
    assert len(page._compiled) == 3


def test_an_empty_list_is_refused_rather_than_sent_as_invalid_sql() -> None:
    query: CompiledQuery[Account] = CompiledQuery(lambda ids: Account.objects.filter(pk__in=ids).values_list("pk"))

    with pytest.raises(ValueError, match="ids is an empty list"):
        query.rows(ids=[])


def test_reads_go_where_the_router_sends_the_models_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[type] = []
    real = router.db_for_read

    def spy(model: type, **hints: Any) -> str:
        asked.append(model)
        return real(model, **hints)

    monkeypatch.setattr(router, "db_for_read", spy)
    account = AccountFactory()

    assert BY_ACCOUNT_ID.instances(account_id=account.account_id)[0].pk == account.pk
    assert asked == [Account]
