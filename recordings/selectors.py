"""Reads for recordings: links for other endpoints, the retention settings, the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.db.models import QuerySet

from analytics_api.kernel.compiled import CompiledQuery
from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.paging import page_rows
from analytics_api.kernel.text import is_storable
from analytics_api.models import Account
from recordings.grants import SourcePolicy
from recordings.models import (
    RETRYABLE_STATES,
    STATE_MESSAGES,
    AuditEntry,
    Channel,
    Recording,
    RecordingFile,
    RecordingSourceGrant,
    RecordingState,
    RetentionSettings,
)


def recording_get(*, account: Account, conversation_id: str) -> Recording:
    """The recording of a conversation of this account; anything else (another account's) is 404."""
    # No conversation id holds a NUL, and PostgreSQL cannot even compare one: such an id is unknown.
    recording = (
        Recording.objects.filter(account=account, conversation_id=conversation_id).first()
        if is_storable(conversation_id)
        else None
    )
    if recording is None:
        raise ApiError(
            f"No recording for conversation {conversation_id!r} in this account.",
            code="not_found",
            status_code=404,
            field="conversationId",
        )
    return recording


def recording_download_path(*, conversation_id: str, channel: str, part: int = 1) -> str:
    """The API path that serves one stored file (relative: selectors have no request to build a host)."""
    query = {"channel": channel}
    if part > 1:
        query["part"] = str(part)
    return f"/api/v1/recordings/{quote(conversation_id, safe='')}/download?{urlencode(query)}"


def recording_available_files(*, recording_ids: Iterable[int]) -> dict[int, list[tuple[RecordingFile, int]]]:
    """Available files per recording, each with its 1-based part number within its channel."""
    parts: dict[int, list[tuple[RecordingFile, int]]] = {}
    counters: dict[tuple[int, str], int] = {}
    rows = RecordingFile.objects.filter(
        recording_id__in=list(recording_ids), state=RecordingState.AVAILABLE
    ).order_by("recording_id", "channel", "pk")
    for item in rows:
        key = (item.recording_id, item.channel)
        counters[key] = counters.get(key, 0) + 1
        parts.setdefault(item.recording_id, []).append((item, counters[key]))
    return parts


# A file in one of these states did not become available after an attempt, and says why.
FAILED_FILE_STATES = RETRYABLE_STATES | {RecordingState.MEDIA_UNAVAILABLE}


def recording_failed_files(*, recording: Recording) -> list[RecordingFile]:
    """The files whose last attempt failed, in channel order; none on a deleted recording."""
    if recording.deleted_at is not None:
        return []
    return list(recording.files.filter(state__in=FAILED_FILE_STATES).order_by("channel", "pk"))


def recording_example(*, account: Account, states: Iterable[str]) -> str | None:
    """The conversation id of the account's latest recording in one of ``states`` (for demo_setup's
    ``$CONVERSATION``: one that plays, and ``$FAILED_CONVERSATION``: one to retry)."""
    return (
        Recording.objects.filter(account=account, state__in=list(states), deleted_at__isnull=True)
        .order_by("-call_ended_at", "conversation_id")
        .values_list("conversation_id", flat=True)
        .first()
    )


def _available_files(*, account_id: Any, ids: Any) -> QuerySet[RecordingFile]:
    return (
        RecordingFile.objects.filter(
            recording__account_id=account_id,
            recording__conversation_id__in=ids,
            recording__deleted_at__isnull=True,
            state=RecordingState.AVAILABLE,
        )
        .order_by("recording__conversation_id", "channel", "pk")
        .values_list("recording__conversation_id", "channel")
    )


# A page's links are read on every rawdata page and change feed page: compiled once per page size.
_AVAILABLE_FILES: CompiledQuery[RecordingFile] = CompiledQuery(_available_files)


def recording_links(*, account: Account, conversation_ids: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """``{conversationId: {"agent": [url, ...], "customer": [url, ...]}}`` for available recordings.

    One query for a whole page of conversations. Conversations without an available file are left
    out. A ``mixed`` file holds both parties, so its link is listed under both ``agent`` and
    ``customer`` (after any single-party files of that side). Links are API paths
    (``/api/v1/recordings/{conversationId}/download?channel=…``), relative to this service's host;
    the caller needs a JWT with the ``recordings`` scope to follow them.
    """
    ids = list(dict.fromkeys(conversation_ids))
    if not ids:
        return {}
    rows = _AVAILABLE_FILES.rows(account_id=account.pk, ids=ids)
    # Ordered by channel, so single-party files ("agent", "customer") come before "mixed" ones.
    links: dict[str, dict[str, list[str]]] = {}
    counters: dict[tuple[str, str], int] = {}
    for conversation_id, channel in rows:
        counters[(conversation_id, channel)] = part = counters.get((conversation_id, channel), 0) + 1
        url = recording_download_path(conversation_id=conversation_id, channel=channel, part=part)
        sides = links.setdefault(conversation_id, {"agent": [], "customer": []})
        if channel == Channel.MIXED:
            sides["agent"].append(url)
            sides["customer"].append(url)
        else:
            sides[channel].append(url)
    return links


def retention_settings_get(*, account: Account) -> RetentionSettings:
    """The account's settings; an account that never set any keeps recordings forever."""
    return RetentionSettings.objects.filter(account=account).first() or RetentionSettings(account=account)


def audit_entries_page(*, account: Account, skip: int, limit: int) -> tuple[list[AuditEntry], bool]:
    """Newest first; ordered by id so that pages never overlap."""
    return page_rows(AuditEntry.objects.filter(account=account).order_by("-id"), skip=skip, limit=limit)


def recording_source_grants(*, account: Account | int) -> list[str]:
    """The account's source grants (``s3://bucket/prefix/`` or a host), sorted."""
    return sorted(RecordingSourceGrant.objects.filter(account=account).values_list("source", flat=True))


def recording_source_policy(*, account: Account | int) -> SourcePolicy:
    """What the fetcher may reach for this account beyond public addresses, read at each fetch so a
    revoked grant applies to the next attempt."""
    return SourcePolicy.of(recording_source_grants(account=account))


@dataclass(frozen=True)
class DownloadChoice:
    """What a download serves: one stored file as it is, or the agent and customer files as one stereo file."""

    files: tuple[RecordingFile, ...]
    part: int = 1

    @property
    def stereo(self) -> bool:
        return len(self.files) == 2


def _downloadable(recording: Recording) -> list[tuple[RecordingFile, int]]:
    if recording.state == RecordingState.DELETED:
        raise ApiError(STATE_MESSAGES[RecordingState.DELETED], code="recording_deleted", status_code=410)
    files = recording_available_files(recording_ids=[recording.pk]).get(recording.pk, [])
    if not files:
        raise ApiError(
            f"The recording is not available for download ({recording.state}): {STATE_MESSAGES[recording.state]}",
            code="recording_not_available",
            status_code=409,
        )
    return files


def _channel_missing(channel: str, part: int = 1) -> ApiError:
    return ApiError(
        f"This recording has no available {channel} file" + (f" part {part}." if part > 1 else "."),
        code="not_found",
        status_code=404,
        field="channel",
    )


def recording_download_choice(*, recording: Recording, channel: str | None, part: int) -> DownloadChoice:
    """The file a download asks for (docs/contract.md#recording-downloads).

    With ``channel``, that channel's file (``part`` of it). Without: the "single file" of the
    conversation — the mixed file; else the only file; else the agent and customer files (their
    first parts) joined as one stereo file. A deleted recording is 410, one not fetched yet 409.
    """
    files = _downloadable(recording)
    if channel is None:
        channels = sorted({item.channel for item, _part in files})
        if Channel.MIXED in channels:
            channel = Channel.MIXED
        elif len(files) == 1:
            channel = files[0][0].channel
        else:
            firsts = {item.channel: item for item, item_part in files if item_part == 1}
            if Channel.AGENT in firsts and Channel.CUSTOMER in firsts:
                return DownloadChoice(files=(firsts[Channel.AGENT], firsts[Channel.CUSTOMER]))
            raise ApiError(
                f"This recording has separate files: choose a channel ({', '.join(channels)}).",
                code="required",
                field="channel",
            )
    for item, item_part in files:
        if item.channel == channel and item_part == part:
            return DownloadChoice(files=(item,), part=part)
    raise _channel_missing(channel, part)


def recording_channel_files(*, recording: Recording, channels: list[str]) -> list[tuple[RecordingFile, int]]:
    """Every available file (each part) of the chosen ``channels``, in that order; a channel without one is 404."""
    files = _downloadable(recording)
    chosen: list[tuple[RecordingFile, int]] = []
    for channel in channels:
        of_channel = [(item, part) for item, part in files if item.channel == channel]
        if not of_channel:
            raise _channel_missing(channel)
        chosen.extend(of_channel)
    return chosen
