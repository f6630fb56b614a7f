"""Snippets and highlight ranges (docs/search.md#snippets), computed only for what is served.

A highlight is a ``{"start", "end"}`` range of characters (Python string indexes, end exclusive) in
the text it comes with: a whole-phrase occurrence is one range, every other matched word its own.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from content.transcripts import AGENT_AI
from search.text import SearchQuery, highlight_ranges, phrase_spans, text_terms, text_tokens
from search.units import Unit

MAX_SNIPPETS = 3
SNIPPET_LENGTH = 200
# How much text a snippet keeps before its first highlight when the unit is longer than a snippet.
_LEAD = 60


def _ranges(text: str, query: SearchQuery) -> list[tuple[int, int]]:
    return highlight_ranges(text_tokens(text), query)


def _excerpt(text: str, ranges: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """At most SNIPPET_LENGTH characters around the first highlight, cut at spaces, ranges shifted."""
    if len(text) <= SNIPPET_LENGTH:
        return text, ranges
    first_start, first_end = ranges[0]
    start = max(0, first_start - _LEAD)
    if start > 0:
        space = text.find(" ", start, first_start)
        start = space + 1 if space >= 0 else first_start
    end = min(len(text), start + SNIPPET_LENGTH)
    if end < len(text):
        space = text.rfind(" ", first_end, end)
        end = space if space >= 0 else max(end, first_end)
    kept = [(s - start, e - start) for s, e in ranges if s >= start and e <= end]
    return text[start:end], kept


def conversation_snippets(
    units: Iterable[Unit], query: SearchQuery, *, exclude_agent_ai: bool, mask: Callable[[str], str] | None = None
) -> list[dict[str, Any]]:
    """Up to MAX_SNIPPETS units that match best: most distinct words, then most highlights, then first.

    ``mask`` (privacy masking) rewrites each unit's text before it is matched, so the ranges point
    into the text served and a masked word is never highlighted.

    1. Each unit is ranked on its terms alone (:func:`~search.text.text_terms`, cached per word):
       its distinct query words and its number of highlights (:func:`~search.text.phrase_spans`).
    2. Only the best MAX_SNIPPETS are split into placed words for their highlight ranges: placing
       every word of every matching unit was most of a search page's time when the query's words
       are common (a matching conversation has a dozen units holding one of them).
    """
    words = set(query.words)
    scored = []
    for order, unit in enumerate(units):
        if exclude_agent_ai and unit.agent_ai:
            continue
        served = mask(unit.text) if mask else unit.text
        terms = text_terms(served)
        if words.isdisjoint(terms):
            continue
        scored.append((-len(words.intersection(terms)), -len(phrase_spans(terms, query)), order, unit, served))
    snippets = []
    for *_, unit, served in heapq.nsmallest(MAX_SNIPPETS, scored, key=lambda item: item[:3]):
        text, kept = _excerpt(served, _ranges(served, query))
        snippets.append({
            "source": unit.source,
            "id": unit.ref,
            "field": unit.field,
            "text": text,
            "highlights": [{"start": start, "end": end} for start, end in kept],
        })
    return snippets


def transcript_matches(
    messages: Iterable[Mapping[str, Any]], query: SearchQuery, *, exclude_agent_ai: bool = False
) -> list[dict[str, Any]]:
    """Per message (in the order given): its occurrences of ``query`` and their ranges.

    An occurrence is a highlighted range (the whole phrase, or a word outside it); ranges name the
    field they are in (``text``, or ``subject`` for an e-mail's subject). ``agent_ai`` messages count
    nothing when ``exclude_agent_ai`` (the caller has usually left them out already).
    """
    results = []
    for message in messages:
        highlights: list[dict[str, Any]] = []
        if not (exclude_agent_ai and message.get("kind") == AGENT_AI):
            email = message.get("email")
            fields = [("subject", email.get("subject"))] if isinstance(email, Mapping) else []
            fields.append(("text", message.get("text")))
            for name, text in fields:
                if isinstance(text, str):
                    highlights.extend({"field": name, "start": s, "end": e} for s, e in _ranges(text, query))
        results.append({"occurrences": len(highlights), "highlights": highlights})
    return results
