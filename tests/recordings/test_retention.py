"""Retention settings, the daily notice/deletion/confirmation job, and the append-only audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from recordings.models import AuditEntry, Recording, RecordingFile, RecordingState
from recordings.retention import retention_run, retention_settings_update
from tests.conftest import make_tenant
from tests.recordings.conftest import CALL_END, FIRST, RecordingServer, first_attempt, register_served, stored_files

pytestmark = pytest.mark.django_db

EXPIRY = CALL_END + timedelta(days=30)
DELETED_MSG = "Recording not available. It may have been deleted as per your data retention policy."


def actions(account: Any) -> list[tuple[str, str, str]]:
    return list(
        AuditEntry.objects.filter(account=account).order_by("id").values_list("actor", "action", "conversation_id")
    )


@pytest.fixture
def stored(tenant: Any, recording_server: RecordingServer, clock: Any) -> Recording:
    register_served(recording_server, tenant.account)
    first_attempt(clock)
    return Recording.objects.get()


def keep_30_days(tenant: Any, *, notify: bool) -> None:
    retention_settings_update(
        account=tenant.account,
        actor="system",
        retention_days=30,
        notify_customers=notify,
        notification_email="privacy@example.com" if notify else "",
    )


def test_settings_default_to_keeping_recordings_forever(tenant: Any) -> None:
    response = tenant.get("/api/v1/settings/retention")

    assert response.status_code == 200
    assert response.json() == {
        "retentionDays": None, "notifyCustomers": False, "notificationEmail": "", "updatedAt": None
    }


def test_put_settings_saves_them_and_audits_the_change_once(tenant: Any, clock: Any) -> None:
    body = {"retentionDays": 90, "notifyCustomers": True, "notificationEmail": "privacy@example.com"}

    response = tenant.put("/api/v1/settings/retention", body)
    again = tenant.put("/api/v1/settings/retention", body)

    expected = {**body, "updatedAt": "2026-03-02T10:00:00.000Z"}
    assert (response.status_code, response.json()) == (200, expected)
    assert (again.status_code, again.json()) == (200, expected)
    assert tenant.get("/api/v1/settings/retention").json() == expected
    [entry] = AuditEntry.objects.all()
    assert entry.actor == f"client:{tenant.api_client.client_id}"
    assert entry.action == "retention_changed"
    assert entry.details == {
        "before": {"retentionDays": None, "notifyCustomers": False, "notificationEmail": ""},
        "after": {"retentionDays": 90, "notifyCustomers": True, "notificationEmail": "privacy@example.com"},
    }


def test_put_settings_lists_every_invalid_field_and_writes_nothing(tenant: Any) -> None:
    response = tenant.put(
        "/api/v1/settings/retention", {"retentionDays": 0, "notificationEmail": "not-an-address"}
    )

    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"msg": "retentionDays must be an integer from 1 to 36500, or null to keep recordings forever.",
         "code": "out_of_range", "field": "retentionDays"},
        {"msg": "notifyCustomers is required: true to e-mail a notice before and a confirmation after each "
                "deletion, false not to.", "code": "required", "field": "notifyCustomers"},
        {"msg": "notificationEmail must be an e-mail address such as privacy@example.com, or empty for none.",
         "code": "invalid", "field": "notificationEmail"},
    ]}
    assert not AuditEntry.objects.exists()


def test_notice_opt_in_needs_an_address(tenant: Any) -> None:
    response = tenant.put("/api/v1/settings/retention", {"retentionDays": 30, "notifyCustomers": True})

    assert response.status_code == 400
    assert response.json() == {"errors": [{
        "msg": "A notificationEmail is required when notifyCustomers is true.",
        "code": "required",
        "field": "notificationEmail",
    }]}
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/settings/retention"), ("put", "/api/v1/settings/retention"),
     ("get", "/api/v1/settings/audit-log")],
)
def test_settings_need_the_admin_scope(db: Any, method: str, path: str) -> None:
    caller = make_tenant(scopes=["recordings"])

    response = getattr(caller, method)(path)

    assert response.status_code == 403
    assert response.json() == {"errors": [
        {"msg": "This API client lacks the scope 'account.admin'.", "code": "permission_denied"}
    ]}


def test_notice_seven_days_before_then_deletion_and_confirmation_each_exactly_once(
    tenant: Any, stored: Recording, clock: Any
) -> None:
    keep_30_days(tenant, notify=True)
    clock.move_to(EXPIRY - timedelta(days=7, seconds=1))
    retention_run()
    assert mail.outbox == []

    clock.move_to(EXPIRY - timedelta(days=7))
    retention_run()
    retention_run()
    [notice] = mail.outbox
    assert notice.to == ["privacy@example.com"]
    assert notice.subject == "1 call recording(s) will be deleted in 7 days"
    assert "- c1: deleted on or after 2026-04-01T10:00:00.000Z" in notice.body

    clock.move_to(EXPIRY - timedelta(seconds=1))
    retention_run()
    assert len(stored_files()) == 1
    assert Recording.objects.get().deleted_at is None

    clock.move_to(EXPIRY)
    retention_run()
    retention_run()
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "1 call recording(s) deleted"
    assert "- c1" in mail.outbox[1].body
    assert stored_files() == []
    recording = Recording.objects.get()
    assert (recording.state, recording.message, recording.deleted_at) == ("deleted", DELETED_MSG, EXPIRY)
    assert RecordingFile.objects.get().storage_key == ""
    assert actions(tenant.account) == [
        ("system", "retention_changed", ""),
        ("system", "deletion_notice_sent", "c1"),
        ("system", "recording_deleted", "c1"),
        ("system", "deletion_confirmation_sent", "c1"),
    ]
    download = tenant.get("/api/v1/recordings/c1/download")
    assert (download.status_code, download.json()["errors"][0]["msg"]) == (410, DELETED_MSG)


def test_without_opt_in_recordings_are_deleted_at_expiry_without_mail(
    tenant: Any, stored: Recording, clock: Any
) -> None:
    keep_30_days(tenant, notify=False)
    clock.move_to(EXPIRY - timedelta(seconds=1))
    retention_run()
    assert len(stored_files()) == 1

    clock.move_to(EXPIRY)
    assert retention_run().deletions == 1
    assert retention_run().deletions == 0
    assert mail.outbox == []
    assert stored_files() == []
    assert [action for _actor, action, _c in actions(tenant.account)] == ["retention_changed", "recording_deleted"]


def test_shortened_retention_still_gives_opted_in_customers_their_week(
    tenant: Any, stored: Recording, clock: Any
) -> None:
    clock.move_to(CALL_END + timedelta(days=100))
    keep_30_days(tenant, notify=True)

    report = retention_run()
    assert (report.notices, report.deletions) == (1, 0)
    clock.shift(timedelta(days=7) - timedelta(seconds=1))
    assert retention_run().deletions == 0
    clock.shift(timedelta(seconds=1))
    assert retention_run().deletions == 1
    assert len(mail.outbox) == 2


def test_recordings_kept_forever_are_never_touched(tenant: Any, stored: Recording, clock: Any) -> None:
    clock.move_to(CALL_END + timedelta(days=3650))
    assert retention_run().deletions == 0
    assert len(stored_files()) == 1


def test_other_accounts_retention_does_not_touch_this_account(
    tenant: Any, outsider: Any, stored: Recording, clock: Any
) -> None:
    keep_30_days(outsider, notify=True)
    clock.move_to(EXPIRY + timedelta(days=10))
    retention_run()
    assert Recording.objects.get().deleted_at is None
    assert mail.outbox == []


def test_process_recordings_runs_fetches_and_retention(
    tenant: Any, recording_server: RecordingServer, clock: Any, capsys: Any
) -> None:
    register_served(recording_server, tenant.account)
    keep_30_days(tenant, notify=False)

    clock.move_to(FIRST)
    call_command("process_recordings")
    assert capsys.readouterr().out == "Recording fetches: available: 1\nRetention: 0 notice(s), 0 deletion(s)\n"
    clock.move_to(EXPIRY)
    call_command("process_recordings")
    assert capsys.readouterr().out == "Recording fetches: none due\nRetention: 0 notice(s), 1 deletion(s)\n"
    assert Recording.objects.get().state == RecordingState.DELETED


def test_audit_log_is_paged_newest_first_and_private_to_the_account(tenant: Any, outsider: Any, clock: Any) -> None:
    for days in (10, 20, 30):
        retention_settings_update(
            account=tenant.account, actor="system", retention_days=days, notify_customers=False, notification_email=""
        )
    retention_settings_update(
        account=outsider.account, actor="system", retention_days=5, notify_customers=False, notification_email=""
    )

    first = tenant.get("/api/v1/settings/audit-log?limit=2")
    second = tenant.get("/api/v1/settings/audit-log?limit=2&offset=2")

    assert first.status_code == 200
    assert [row["details"]["after"]["retentionDays"] for row in first.json()["data"]] == [30, 20]
    assert (first.json()["numResults"], first.json()["hasMore"]) == (2, True)
    assert [row["details"]["after"]["retentionDays"] for row in second.json()["data"]] == [10]
    assert second.json()["hasMore"] is False
    assert set(first.json()["data"][0]) == {"id", "at", "actor", "action", "conversationId", "details"}
    assert first.json()["data"][0]["at"] == "2026-03-02T10:00:00.000Z"


def test_audit_log_rejects_bad_paging(tenant: Any) -> None:
    response = tenant.get("/api/v1/settings/audit-log?limit=500")

    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"msg": "limit must be an integer from 1 to 100.", "code": "out_of_range", "field": "limit"}
    ]}


def test_audit_log_offset_beyond_a_billion_is_rejected_not_a_server_error(tenant: Any) -> None:
    # Found by schemathesis: a 20-digit offset overflowed SQLite's OFFSET and answered 500.
    response = tenant.get("/api/v1/settings/audit-log?offset=47804130652171640832")

    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"msg": "offset must be an integer from 0 to 1,000,000,000.", "code": "out_of_range", "field": "offset"}
    ]}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"retentionDays": "thirty", "notifyCustomers": "maybe", "notificationEmail": 5}, [
            ("retentionDays", "retentionDays must be an integer from 1 to 36500, or null to keep recordings forever.",
             "invalid"),
            ("notifyCustomers", "notifyCustomers must be true or false.", "invalid"),
            ("notificationEmail", "notificationEmail must be an e-mail address such as privacy@example.com, or empty "
             "for none.", "invalid"),
        ]),
        ({"retentionDays": 36501, "notifyCustomers": False}, [
            ("retentionDays", "retentionDays must be an integer from 1 to 36500, or null to keep recordings forever.",
             "out_of_range"),
        ]),
        ({"notifyCustomers": False}, [
            ("retentionDays", "retentionDays must be an integer from 1 to 36500, or null to keep recordings forever.",
             "required"),
        ]),
        ({"retentionDays": 30, "notifyCustomers": None}, [
            ("notifyCustomers", "notifyCustomers must not be null.", "null"),
        ]),
    ],
    ids=["wrong types", "too many days", "days missing", "null flag"],
)
def test_put_settings_says_what_to_send_in_our_words(
    tenant: Any, body: dict[str, Any], errors: list[tuple[str, str, str]]
) -> None:
    response = tenant.put("/api/v1/settings/retention", body)

    assert response.status_code == 400
    assert [(e["field"], e["msg"], e["code"]) for e in response.json()["errors"]] == errors
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("query", "field", "msg", "code"),
    [
        ("limit=ten", "limit", "limit must be an integer from 1 to 100.", "invalid"),
        ("limit=0", "limit", "limit must be an integer from 1 to 100.", "out_of_range"),
        ("offset=-1", "offset", "offset must be an integer from 0 to 1,000,000,000.", "out_of_range"),
        ("offset=1.5", "offset", "offset must be an integer from 0 to 1,000,000,000.", "invalid"),
    ],
)
def test_audit_log_paging_says_what_to_send(tenant: Any, query: str, field: str, msg: str, code: str) -> None:
    response = tenant.get(f"/api/v1/settings/audit-log?{query}")

    assert response.status_code == 400
    assert response.json() == {"errors": [{"msg": msg, "code": code, "field": field}]}


def test_audit_entries_cannot_be_changed_or_removed(tenant: Any) -> None:
    keep_30_days(tenant, notify=False)
    entry = AuditEntry.objects.get()

    with pytest.raises(TypeError, match="append-only"):
        entry.save()
    with pytest.raises(TypeError, match="append-only"):
        entry.delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="someone")
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().actor == "system"
