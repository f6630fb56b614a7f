"""A query's rows read ahead on a connection of their own, a chunk at a time (PostgreSQL).

For reads of whole windows (exports). The ORM's ``iterator()`` outside a transaction declares its
cursor ``WITH HOLD``, and PostgreSQL then computes and stores the whole result before the first row
is fetched (a window of a million records is a gigabyte of temporary file), and every fetch waits
for the server while the caller is idle. Here:

* the cursor lives in a transaction of its own connection (one snapshot, rows produced as fetched);
* a thread fetches the next chunk while the caller works on the last one, so the database server
  and the caller run at the same time (the fetch waits on the socket without the GIL).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable

# Chunks waiting for the caller while the reader fetches the next: one keeps both busy (two made a
# Parquet worker's peak RSS 2-3 MB higher for no measured gain).
READ_AHEAD = 1
# How often a blocked reader looks whether the caller has stopped.
_POLL_SECONDS = 0.5
_END = object()


def read_ahead_available(queryset: QuerySet) -> bool:
    """Whether :func:`rows_read_ahead` can read ``queryset``: on PostgreSQL, outside a transaction,
    tuples (a ``values_list``) whose columns the driver gives as the ORM would.

    The rows are read on a connection of the reader's own, which would not see what a transaction
    of the caller has written and not committed yet (the ORM's cursor does). They are the driver's
    rows: no model instances, and no column that needs one of the ORM's converters (a JSON field's
    text, for instance, would come as text, not as the value).
    """
    connection = connections[queryset.db]
    if (
        queryset._iterable_class is not ValuesListIterable
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
    ):
        return False
    compiler = queryset.query.get_compiler(using=queryset.db)
    compiler.setup_query()
    return not compiler.get_converters([column for column, _sql, _alias in compiler.select])


def rows_in_chunks(queryset: QuerySet, *, chunk: int) -> Iterator[list[Any]]:
    """The rows of ``queryset`` in its order, ``chunk`` at a time: read ahead where
    :func:`read_ahead_available` says so, else through the ORM's chunked cursor."""
    if read_ahead_available(queryset):
        yield from rows_read_ahead(queryset, chunk=chunk)
        return
    cursor = queryset.iterator(chunk_size=chunk)
    while batch := list(islice(cursor, chunk)):
        yield batch


class _Reader(threading.Thread):
    def __init__(self, queryset: QuerySet, chunk: int) -> None:
        super().__init__(name="rows-read-ahead", daemon=True)
        self.alias = queryset.db
        self.sql, self.params = queryset.query.get_compiler(using=queryset.db).as_sql()
        self.chunk = chunk
        self.chunks: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
        self.stopped = threading.Event()

    def _put(self, item: Any) -> bool:
        while not self.stopped.is_set():
            try:
                self.chunks.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        # A database wrapper of this thread's own (Django's are not shared between threads), with the
        # settings of the queryset's database as they are now (a test database's name included).
        source = connections[self.alias]
        reader = type(source)(source.settings_dict, self.alias)
        try:
            reader.ensure_connection()
            raw = reader.connection
            with raw.transaction(), raw.cursor(name="rows_read_ahead") as cursor:
                cursor.execute(self.sql, self.params)
                while rows := cursor.fetchmany(self.chunk):
                    if not self._put(rows):
                        return
            self._put(_END)
        except BaseException as error:  # handed to the caller, raised there
            self._put(error)
        finally:
            reader.close()


def rows_read_ahead(queryset: QuerySet, *, chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``queryset`` (a ``values_list``), in its order, ``chunk`` at a time.

    1. Compile the queryset's SQL and parameters as the ORM would run them.
    2. A reader thread opens its own connection, declares a cursor in a transaction and fetches
       chunks into a queue of ``READ_AHEAD``, blocking when it is full.
    3. Hand each chunk over as it comes; an error of the reader is raised here.

    Closing the generator early stops the reader (its transaction rolls back, its connection closes).
    """
    reader = _Reader(queryset, chunk)
    reader.start()
    try:
        while True:
            item = reader.chunks.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        reader.stopped.set()
        reader.join()
