"""On PostgreSQL the compiled reads run as statements prepared on their connection, and only they do."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from analytics_api.kernel.compiled import MAX_KEPT_LIST, CompiledQuery
from analytics_api.models import Account
from tests.factories import AccountFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"),
]

BY_ACCOUNT_ID: CompiledQuery[Account] = CompiledQuery(
    lambda account_id: Account.objects.filter(account_id=account_id)[:1]
)

BY_ACCOUNT_IDS: CompiledQuery[Account] = CompiledQuery(
    lambda account_ids: Account.objects.filter(account_id__in=account_ids).values_list("pk")
)


def _prepared(column: str = "statement") -> list[str]:
    """The statements prepared on this connection (its session's pg_prepared_statements)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM pg_prepared_statements ORDER BY prepare_time")
        return [row[0] for row in cursor.fetchall()]


def _read(account: Account) -> Account:
    (found,) = BY_ACCOUNT_ID.instances(account_id=account.account_id)
    return found


def test_a_compiled_read_is_prepared_once_and_reused_for_every_value() -> None:
    accounts = AccountFactory.create_batch(3)

    assert [_read(account).pk for account in accounts * 2] == [account.pk for account in accounts * 2]

    (statement,) = _prepared()
    assert statement.startswith('SELECT "analytics_api_account"."id"') and "$1" in statement


def test_a_one_off_shape_is_not_prepared_a_kept_one_is() -> None:
    account = AccountFactory()
    many = [account.account_id] + [f"absent-{n}" for n in range(MAX_KEPT_LIST)]

    assert BY_ACCOUNT_IDS.rows(account_ids=many) == [(account.pk,)]
    assert _prepared() == []
    assert BY_ACCOUNT_IDS.rows(account_ids=many[:2]) == [(account.pk,)]
    assert len(_prepared()) == 1


def test_djangos_own_statements_are_not_prepared() -> None:
    account = AccountFactory()
    for _ in range(20):
        assert Account.objects.get(account_id=account.account_id) == account

    assert _prepared() == []


def test_with_prepared_statements_off_nothing_is_prepared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(connection.settings_dict, "PREPARED_STATEMENTS", False)
    account = AccountFactory()

    assert [_read(account).pk for _ in range(3)] == [account.pk] * 3
    assert _prepared() == []


def test_after_a_rollback_the_read_is_prepared_again_and_answers_the_same() -> None:
    account = AccountFactory()
    assert _read(account).pk == account.pk
    (before,) = _prepared("name")

    with pytest.raises(RuntimeError), transaction.atomic():
        AccountFactory()
        raise RuntimeError("roll this back")

    # psycopg deallocates its statements after a rollback; the next read prepares its own again.
    assert _read(account).pk == account.pk
    (after,) = _prepared("name")
    assert after != before


def test_a_prepared_read_counts_and_is_logged_with_its_values_as_any_query(django_assert_num_queries: Any) -> None:
    account = AccountFactory()
    with django_assert_num_queries(1) as captured:
        assert _read(account).pk == account.pk

    (query,) = captured.captured_queries
    assert query["sql"].startswith('SELECT "analytics_api_account"."id"')
    assert f"'{account.account_id}'" in query["sql"] and "$1" not in query["sql"]


def test_a_call_told_not_to_prepare_is_planned_afresh_and_the_same_shape_still_prepares() -> None:
    account = AccountFactory()
    ids = [account.account_id, "absent"]

    for _ in range(3):
        assert BY_ACCOUNT_IDS.rows(prepare=False, account_ids=ids) == [(account.pk,)]
    assert _prepared() == []
    assert BY_ACCOUNT_IDS.rows(account_ids=ids) == [(account.pk,)]
    assert len(_prepared()) == 1
