"""Quality AI contacts of a stream, their queryable custom fields, stream settings (docs/contract.md#duration-status).

A contact keeps the document exactly as it was ingested (``document``) and copies into indexed
columns only what the rawdata endpoint filters and orders on. ``duration_status`` is deliberately
not a column: it depends on the stream's *current* minimum duration, which may change after the
contact was stored, so it is derived from ``duration_ms`` at query time.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models

from analytics_api.kernel.fields import FastJSONField
from analytics_api.kernel.partitions import monthly
from analytics_api.models import Account, Bot

DEFAULT_MIN_DURATION_SECONDS = 10
# Values of one custom-field key kept per stream and day (QaValueDayCount); past it the day is counted from the rows.
VALUE_COUNTS_PER_KEY = 100
# A day: anything longer is a typo, and it keeps the threshold far inside BigInteger milliseconds.
MAX_MIN_DURATION_SECONDS = 86_400


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


# The count columns of QaDayCount and QaValueDayCount: per direction, all contacts and those evaluated.
DAY_COUNT_COLUMNS = ("inbound", "inbound_evaluated", "outbound", "outbound_evaluated")

class DurationStatus(models.TextChoices):
    EVALUATED = "evaluated", "Evaluated"
    BELOW_THRESHOLD = "below_threshold", "Below threshold"
    DURATION_UNAVAILABLE = "duration_unavailable", "Duration unavailable"


class StreamSettings(models.Model):
    """Quality AI settings of one stream (a bot/app); a stream without a row uses the defaults."""

    stream = models.OneToOneField(Bot, on_delete=models.CASCADE, related_name="qa_settings")
    min_duration_seconds = models.PositiveIntegerField(
        default=DEFAULT_MIN_DURATION_SECONDS,
        validators=[MaxValueValidator(MAX_MIN_DURATION_SECONDS)],
        help_text="Contacts shorter than this are below_threshold and left out of rawdata by default",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "stream settings"
        verbose_name_plural = "stream settings"

    def __str__(self) -> str:
        return f"Settings of {self.stream}"


class QaContact(models.Model):
    """One evaluated conversation of a stream, unique by its ``Conversation ID``."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="qa_contacts")
    # No single-column index: the composite indexes below all start with the stream.
    stream = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="qa_contacts", db_index=False)
    conversation_id = models.CharField(max_length=128)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    direction_defaulted = models.BooleanField(
        default=False, help_text="The direction was not sent at ingestion and was inferred"
    )
    duration_ms = models.BigIntegerField(null=True, blank=True, help_text="Empty: duration unavailable")
    audit_complete = models.BooleanField(default=False)
    document = FastJSONField(help_text="The contact as it was ingested (§6 result shape)")
    served = models.TextField(
        null=True, blank=True, editable=False,
        help_text="The result pre-rendered as JSON text with markers (qualityai.rendering); empty: render",
    )
    served_version = models.PositiveSmallIntegerField(
        default=0, db_default=0, editable=False,
        help_text="Format of served; not qualityai.rendering.PRERENDER_VERSION: render (manage.py prerender)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Quality AI contact"
        constraints = [
            models.UniqueConstraint(fields=["stream", "conversation_id"], name="qa_contact_unique_per_stream"),
        ]
        indexes = [
            # Window filter, ordering and paging. On PostgreSQL migration 0002 rebuilds it as a
            # covering index (INCLUDE duration_ms, direction) so that the COUNT of totalResults
            # runs as an index-only scan; SQLite has no covering indexes.
            models.Index(fields=["stream", "started_at", "conversation_id"], name="qa_contact_stream_start"),
            models.Index(
                fields=["stream", "direction", "started_at", "conversation_id"],
                name="qa_contact_stream_direction",
            ),
        ]

    def __str__(self) -> str:
        return self.conversation_id


class QaContactCustomField(models.Model):
    """One ``custom_fields`` entry of a contact, so filters work on every database.

    JSON containment lookups do not exist on SQLite; a row per key lets ``custom_fields`` filters
    run as indexed ``EXISTS`` subqueries on both databases. Values are stored as text: strings as
    they are, numbers and booleans as their JSON text (``7``, ``true``).
    """

    # Served by the (contact, key) unique constraint and the (stream, key, value) index.
    # No database constraint: on PostgreSQL the parent is partitioned by month and its key is
    # (id, start) (analytics_api.kernel.partitions); deletions cascade through Django.
    contact = models.ForeignKey(
        QaContact, on_delete=models.CASCADE, related_name="custom_field_rows", db_index=False, db_constraint=False
    )
    stream = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=100)
    value = models.CharField(max_length=500)
    # The contact's start, repeated so that a filter reads only the window's rows of its index
    # (not every row of the stream with that value, which would be a scan on a large stream).
    started_at = models.DateTimeField()
    # The contact's direction and duration, repeated so that rawdata's total under a one-key filter
    # is counted from this table's index alone (on PostgreSQL it covers them: migration 0011).
    direction = models.CharField(max_length=8, choices=Direction.choices)
    duration_ms = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "key"], name="qa_custom_field_unique_key"),
        ]
        indexes = [
            models.Index(fields=["stream", "key", "value", "started_at"], name="qa_custom_field_window"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


# Monthly partitions on PostgreSQL (migration 0008); (stream, Conversation ID) stays unique through the key table.
monthly("qualityai_qacontact", column="started_at", scope="stream_id", key="conversation_id")
monthly("qualityai_qacontactcustomfield", column="started_at")


class QaDayCount(models.Model):
    """How many contacts a stream has on one UTC day, by direction, for rawdata's ``totalResults``
    (qualityai/day_counts.py; docs/contract.md#rawdata-totals).

    Exact for the committed contacts of the day unless the day has a :class:`QaDayDirty` entry.
    ``*_evaluated`` count the contacts not below ``threshold_ms`` (a known duration at or above it, or
    no duration): a row counted under another threshold than the stream's current one serves only the
    totals that include below-threshold contacts. A day without a row and without an entry has no contacts.
    """

    stream = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    threshold_ms = models.BigIntegerField(help_text="The stream's minimum duration the evaluated counts used")
    inbound = models.BigIntegerField(default=0)
    inbound_evaluated = models.BigIntegerField(default=0)
    outbound = models.BigIntegerField(default=0)
    outbound_evaluated = models.BigIntegerField(default=0)
    # The same four counts per UTC hour of the day ({"inbound": [24 counts], …}), summing to the
    # columns above: a deep page skips whole hours by them. Empty for a row counted before they
    # were kept (its day is then one stretch for a deep page, until it is counted again).
    hours = FastJSONField(null=True, blank=True, help_text="The counts by UTC hour: four lists of 24")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "day"], name="qa_day_count_unique")]

    def __str__(self) -> str:
        return f"{self.stream_id} {self.day}"


class QaValueDayCount(models.Model):
    """How many contacts of a stream's UTC day have one ``custom_fields`` value, by direction: rawdata's
    ``totalResults`` under a one-key filter (docs/contract.md#rawdata-totals).

    Counted together with the day's :class:`QaDayCount`, in the same refresh and under its
    ``threshold_ms``, and exact under the same conditions (the day has no :class:`QaDayDirty` entry).
    A key with more than ``VALUE_COUNTS_PER_KEY`` values on a day (an id, a free text) keeps one row
    with no value instead: that day is counted from the custom-field rows. A counted day without a
    row for a key has no contact with that key.
    """

    stream = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    key = models.CharField(max_length=100)
    value = models.CharField(max_length=500, null=True, blank=True, help_text="Empty: too many values to keep")
    inbound = models.BigIntegerField(default=0)
    inbound_evaluated = models.BigIntegerField(default=0)
    outbound = models.BigIntegerField(default=0)
    outbound_evaluated = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["stream", "key", "day", "value"], name="qa_value_day_count_read")]

    def __str__(self) -> str:
        return f"{self.stream_id} {self.day} {self.key}={self.value}"


class QaDayDirty(models.Model):
    """A write to a stream's contacts of one UTC day, not yet in its :class:`QaDayCount`.

    Written in the same transaction as the contacts it marks, by a plain insert (writers never wait on
    each other or on the refresh); the refresh deletes exactly the entries it has counted.
    """

    stream = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    # For the analytics_qa_day_counts_behind_seconds gauge: how long the oldest mark has waited.
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["stream", "day"], name="qa_day_dirty_stream_day")]

    def __str__(self) -> str:
        return f"{self.stream_id} {self.day}"
