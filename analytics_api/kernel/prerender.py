"""Pre-rendered texts: the read endpoints depend on them; this is the one place that says how.

Rendering a page from parsed documents costs more than the database takes to read it. So at
ingestion every interaction (``conversations.Interaction``) and every Quality AI contact
(``qualityai.QaContact``) is also rendered once to the JSON text it is served as, in its ``served``
column, and interactionDetails, calldetails and rawdata serve a page by one text pass over those
texts (``conversations.documents.served_page``, ``qualityai.rendering.served_result``). What
depends on the request (local times, optional sections, the duration status, recording links)
stands in the text as a marker: a raw control character that JSON text never holds unescaped.

Each row also stores ``served_version``, the format version of its text; each app declares its
current one (``PRERENDER_VERSION`` in ``conversations.documents`` and ``qualityai.rendering``) and
bumps it whenever what its renderer writes changes. A page uses a row's text only when the row's
version is the current one. Every other row is rendered from its document in a second query by
primary key, so a page is always right, only slower:

* rows of an older version (after an upgrade that bumped it) and version 0 (rows stored before
  versions existed, or written by anything but ingestion);
* rows with no text at all (``served`` NULL): a document whose own strings hold a reserved
  character cannot be marked; those rows carry the current version and are always rendered.

After an upgrade (``manage.py migrate``), run ``manage.py prerender``: it re-renders the rows of
any other version, in primary-key batches, and can be stopped and run again at any time (it only
does what is left); with nothing to do it reads one count per dataset and exits. Until it has
finished, pages are correct but slower. Migrations never render: they must not run live code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Case, F, Value, When

# Control characters reserved for markers: NUL for placeholders (ingestion refuses NUL in
# documents), the other three for the apps' markers. JSON text writes them as escapes.
PLACEHOLDER, MARKS = "\x00", ("\x01", "\x02", "\x03")
_ESCAPES = tuple(f"\\u{ord(char):04x}" for char in (PLACEHOLDER, *MARKS))


def escaped(char: str) -> str:
    """How JSON text writes a reserved character: ``"\\x01"`` is ``\\u0001``."""
    return f"\\u{ord(char):04x}"


def placeholder(name: str) -> str:
    """A string value a renderer puts where a marker goes; :func:`placeholder_json` finds it after dumping."""
    return f"{PLACEHOLDER}{name}{PLACEHOLDER}"


def placeholder_json(name: str) -> str:
    """The JSON text of :func:`placeholder` ``(name)``."""
    return f'"{escaped(PLACEHOLDER)}{name}{escaped(PLACEHOLDER)}"'


def member(key: str, value_json: str) -> str:
    """A ``,"key":value`` member of a JSON object, for text spliced in after a first key."""
    return f',"{key}":{value_json}'


def marked_text(text: str, marks: Iterable[tuple[str, str, int]]) -> str | None:
    """``text`` with its placeholders turned into markers, or None when the document's own strings hold one.

    ``text`` is the JSON text of a rendering into which the renderer put, for each ``(old, new,
    count)``, exactly ``count`` occurrences of ``old`` (a piece of JSON text holding an escaped
    reserved character: a placeholder, a marked value).

    1. Replace the first ``count`` occurrences of each ``old`` by ``new``.
    2. If a reserved character is still escaped somewhere, it came from the document (one of
       ours that a look-alike of the document's displaced, or one of the document's own): the
       text cannot be marked. This reads only the rendered text, so the document is never dumped
       a second time just to look for these characters; and what a rendering leaves out of the
       document does not matter.
    """
    for old, new, count in marks:
        text = text.replace(old, new, count)
    if "\\u000" in text and any(escape in text for escape in _ESCAPES):
        return None
    return text


@dataclass
class Prerendering:
    """How the rows of one model carry a pre-rendered text (``served``) and its version (``served_version``).

    ``version`` is the app's ``PRERENDER_VERSION``; ``render`` makes the text of a row that has
    (at least) ``columns`` loaded, None when it cannot be marked.
    """

    dataset: str  # the name ``manage.py prerender --dataset`` knows it by
    model: type[models.Model]
    version: int
    columns: tuple[str, ...]
    render: Callable[[Any], str | None]

    def current_text(self, version: Any = None) -> Case:
        """A query expression: the row's text when it is of the current version, else NULL.

        ``version``: the version as a compiled query's slot (``analytics_api.kernel.compiled``), so
        that the compiled statement follows ``version`` when it changes; default ``version`` itself.
        """
        return Case(When(served_version=self.version if version is None else version, then=F("served")),
                    default=Value(None))

    def stale(self) -> models.QuerySet[Any]:
        """The rows whose text is not of the current version (older, 0, or a later one after a downgrade)."""
        return self.model._default_manager.exclude(served_version=self.version)

    def unrendered(self, rows: Iterable[tuple[Any, str | None]]) -> dict[Any, Any]:
        """The rows among ``(pk, current text)`` that have none, by primary key, with ``columns`` loaded.

        One query (none when every row has its text): a page renders these from their documents.
        """
        missing = [pk for pk, text in rows if text is None]
        if not missing:
            return {}
        return {row.pk: row for row in self.model._default_manager.filter(pk__in=missing).only(*self.columns)}

    def rerender_batch(self, *, after: Any, size: int) -> tuple[int, Any]:
        """Re-render up to ``size`` stale rows with a primary key above ``after``; returns (count, last key).

        In one transaction, so an ingestion of the same rows waits rather than have its new text
        overwritten by one rendered from the old document:

        1. Lock the next stale rows in primary-key order (``SELECT … FOR UPDATE``; a keyset, so
           each batch starts where the last ended and the table is never loaded).
        2. Render each and write texts and versions in one ``UPDATE``.
        """
        with transaction.atomic():
            rows = list(
                self.stale().filter(pk__gt=after).order_by("pk").select_for_update().only(*self.columns)[:size]
            )
            if not rows:
                return 0, after
            for row in rows:
                row.served = self.render(row)
                row.served_version = self.version
            self.model._default_manager.bulk_update(rows, ["served", "served_version"])
        return len(rows), rows[-1].pk
