"""Saved filters (docs/contract.md#saved-filters): named criteria of one owner (API client + acting user)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account
from supervision.actors import Actor
from supervision.models import SavedFilter

# An owner keeps at most this many filters; the list answers all of them.
MAX_FILTERS_PER_OWNER = 100


def _owned(*, account: Account, actor: Actor) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.filter(account=account, client=actor.client, acting_user=actor.acting_user)


def filters_list(*, account: Account, actor: Actor) -> list[SavedFilter]:
    """The owner's filters by name (at most ``MAX_FILTERS_PER_OWNER``, so the list is never paged)."""
    return list(_owned(account=account, actor=actor).order_by("name", "pk")[:MAX_FILTERS_PER_OWNER])


def filter_get(*, account: Account, actor: Actor, filter_id: str) -> SavedFilter:
    """One of the owner's filters; unknown, or another owner's (even of the same account), is 404."""
    # ASCII digits only: str.isdigit() also takes "³" and other digits int() refuses.
    well_formed = filter_id.isascii() and filter_id.isdigit() and len(filter_id) < 19
    found = _owned(account=account, actor=actor).filter(pk=int(filter_id)).first() if well_formed else None
    if found is None:
        raise ApiError(f"No saved filter {filter_id!r} of yours.", code="not_found", status_code=404, field="id")
    return found


def _name_taken(name: str) -> ApiError:
    return ApiError(f"You already have a filter named {name!r}.", code="duplicate_name", status_code=409, field="name")


def _save(row: SavedFilter, *, account: Account, actor: Actor) -> SavedFilter:
    """Save, turning the unique-name constraint's refusal into a 409 (also when two requests race)."""
    if _owned(account=account, actor=actor).filter(name=row.name).exclude(pk=row.pk).exists():
        raise _name_taken(row.name)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise _name_taken(row.name) from None
    return row


def filter_create(*, account: Account, actor: Actor, name: str, criteria: dict[str, Any]) -> SavedFilter:
    if _owned(account=account, actor=actor).count() >= MAX_FILTERS_PER_OWNER:
        raise ApiError(
            f"You have {MAX_FILTERS_PER_OWNER} saved filters, the most one may keep: delete one first.",
            code="too_many",
            status_code=409,
        )
    row = SavedFilter(account=account, client=actor.client, acting_user=actor.acting_user, name=name,
                      criteria=criteria)
    return _save(row, account=account, actor=actor)


def filter_update(
    *, account: Account, actor: Actor, filter_id: str, name: str, criteria: dict[str, Any]
) -> SavedFilter:
    row = filter_get(account=account, actor=actor, filter_id=filter_id)
    row.name, row.criteria = name, criteria
    return _save(row, account=account, actor=actor)


def filter_duplicate(*, account: Account, actor: Actor, filter_id: str, name: str) -> SavedFilter:
    """A copy of the filter under a new name (never the default)."""
    source = filter_get(account=account, actor=actor, filter_id=filter_id)
    return filter_create(account=account, actor=actor, name=name, criteria=source.criteria)


def filter_make_default(*, account: Account, actor: Actor, filter_id: str) -> SavedFilter:
    """Make the filter the owner's default; the previous default stops being one (one per owner)."""
    with transaction.atomic():
        row = filter_get(account=account, actor=actor, filter_id=filter_id)
        _owned(account=account, actor=actor).filter(is_default=True).exclude(pk=row.pk).update(is_default=False)
        if not row.is_default:
            row.is_default = True
            row.save(update_fields=["is_default", "updated_at"])
    return row


def filter_delete(*, account: Account, actor: Actor, filter_id: str) -> None:
    filter_get(account=account, actor=actor, filter_id=filter_id).delete()


def query_criteria(
    *, account: Account, actor: Actor | None, filter_id: str | None, explicit: dict[str, Any]
) -> dict[str, Any] | None:
    """The criteria a query or export applies: ``filterId``'s saved criteria narrowed by the explicit
    ones (:func:`criteria_narrowed`), or the explicit ones alone; None when nothing can match.

    Another owner's filter is 404 on ``filterId``.
    """
    if filter_id is None or actor is None:
        return explicit
    found = _owned(account=account, actor=actor).filter(pk=int(filter_id)).first()
    if found is None:
        raise ApiError(
            f"No saved filter {filter_id!r} of yours.", code="not_found", status_code=404, field="filterId"
        )
    return criteria_narrowed(found.criteria, explicit)


def criteria_narrowed(saved: dict[str, Any], explicit: dict[str, Any]) -> dict[str, Any] | None:
    """A saved filter's criteria narrowed by explicit ones (both validated): both must hold.

    Lists of values (ids, queues, channels, agents, status, csat, sentiment) keep the values both
    allow; ``flagged`` must agree; custom-tag clauses add up (all must hold). None when nothing can
    match both (an empty intersection, or ``flagged`` true in one and false in the other).
    """
    merged = dict(saved)
    for key, value in explicit.items():
        if key == "customTags":
            merged[key] = [*saved.get(key, []), *[clause for clause in value if clause not in saved.get(key, [])]]
        elif isinstance(value, list) and saved.get(key):
            merged[key] = [item for item in value if item in saved[key]] if value else saved[key]
            if not merged[key]:
                return None
        elif key in saved and saved[key] != value and not isinstance(value, list):
            return None
        else:
            merged[key] = value
    return merged


def filter_answer(row: SavedFilter) -> dict[str, Any]:
    return {"id": row.pk, "name": row.name, "criteria": row.criteria, "isDefault": row.is_default}
