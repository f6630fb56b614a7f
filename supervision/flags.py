"""Supervisor flags (docs/contract.md#supervisor-flags), kept beside the ingested ones in the ``flags`` section."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account
from changes.services import changes_record
from content.models import Conversation
from recordings.models import AuditAction, AuditEntry
from supervision.actors import Actor
from supervision.selectors import conversation_missing, conversation_target

SUPERVISOR = "supervisor"


def _content(*, account: Account, session_id: str) -> Conversation:
    """The conversation's content row, locked: flags live in its sections."""
    target = conversation_target(account=account, session_id=session_id, lock=True)
    if target.conversation is None:
        raise conversation_missing(session_id)
    return target.conversation


def _flags_save(conversation: Conversation, flags: list[dict[str, Any]]) -> None:
    conversation.sections = {**conversation.sections, "flags": flags}
    conversation.flagged = bool(flags)
    conversation.save(update_fields=["sections", "flagged", "updated_at"])
    changes_record(account_id=conversation.account_id, dataset="conversations", keys=[conversation.session_id])


def flag_add(*, account: Account, session_id: str, actor: Actor, reason: str) -> dict[str, Any]:
    """Flag the conversation for review; answers the new flag (``source`` ``supervisor``, who, when)."""
    with transaction.atomic():
        conversation = _content(account=account, session_id=session_id)
        flag = {
            "id": f"sf-{uuid.uuid4().hex[:16]}",
            "reason": reason,
            "source": SUPERVISOR,
            "time": render_utc_ms(timezone.now()),
            "createdBy": actor.as_dict(),
        }
        _flags_save(conversation, [*(conversation.sections.get("flags") or []), flag])
    return flag


def flag_remove(*, account: Account, session_id: str, actor: Actor, flag_id: str) -> None:
    """Remove one flag (a supervisor's or an AI review's); the removal is written to the audit log."""
    with transaction.atomic():
        conversation = _content(account=account, session_id=session_id)
        flags = list(conversation.sections.get("flags") or [])
        removed = next((flag for flag in flags if isinstance(flag, dict) and flag.get("id") == flag_id), None)
        if removed is None:
            raise ApiError(
                f"The conversation has no flag {flag_id!r}.", code="not_found", status_code=404, field="flagId"
            )
        _flags_save(conversation, [flag for flag in flags if flag is not removed])
        AuditEntry.objects.create(
            account=account,
            at=timezone.now(),
            actor=actor.audit_name,
            action=AuditAction.FLAG_REMOVED,
            conversation_id=session_id,
            details={"flag": removed},
        )
