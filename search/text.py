"""Words as the search sees them (docs/search.md#words): one normalisation for indexing and querying.

Both engines receive the same terms, produced here rather than by the database's own dictionaries,
so SQLite FTS5 and PostgreSQL agree word for word:

1. A word is a run of letters and digits (``[^\\W_]+``) of at most ``MAX_WORD_LENGTH`` characters;
   its place in the original text is kept, so highlights point at what was written.
2. Accents and case are folded: Unicode NFKD, combining marks dropped, then ``casefold``
   ("Réfund" → "refund", "Straße" → "strasse").
3. Stop words (``STOP_WORDS``: articles, pronouns, prepositions and the like — the Snowball English
   list, the one PostgreSQL's ``english`` configuration uses) are dropped.
4. What remains is stemmed with the Snowball English (Porter 2) stemmer ("refunds", "refunded" →
   "refund").
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import snowballstemmer

from analytics_api.kernel.errors import ApiError

MAX_QUERY_LENGTH = 256
MAX_QUERY_WORDS = 10
# Longer runs of letters and digits (encoded blobs, hashes) are not words anyone searches for, and
# PostgreSQL refuses lexemes over 2 KB.
MAX_WORD_LENGTH = 64

STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
    her hers herself it its itself they them their theirs themselves what which who whom this that
    these those am is are was were be been being have has had having do does did doing a an the and
    but if or because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only own same
    so than too very s t can will just don should now
    """.split()
)

_WORD = re.compile(r"[^\W_]+")
# One stemmer per thread (word_stem): a Snowball stemmer keeps the word it works on in its own state.
_STEMMERS = threading.local()
# For text_terms on ASCII text: every byte but an ASCII letter or digit (what ``_WORD`` matches there) → blank.
_ASCII_BLANKS = bytes(byte if chr(byte).isascii() and chr(byte).isalnum() else 0x20 for byte in range(256))


class Token(NamedTuple):
    """A significant word: its stem and where it stands in the original text (a tuple: a served
    page makes one per word of every unit it highlights)."""

    stem: str
    start: int
    end: int


def fold(word: str) -> str:
    if word.isascii():
        # NFKD leaves ASCII as it is and casefold is lower there: the common case, without the walk.
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


@lru_cache(maxsize=65536)
def _term(word: str) -> str | None:
    """The term of one word as written (steps 2–4), or None for a stop word or an over-long word.

    Cached by the word as written: a transcript repeats its words, and indexing a batch of
    conversations folds and stems each distinct word once instead of at every occurrence.
    """
    if len(word) > MAX_WORD_LENGTH:
        return None
    folded = fold(word)
    # Folding may split a character into several ("ﬁ" → "fi"); the stem stays one word.
    if folded in STOP_WORDS or len(folded) > MAX_WORD_LENGTH:
        return None
    return word_stem(folded)


def word_stem(word: str) -> str:
    """The Snowball English stem of a folded word (step 4), with this thread's own stemmer.

    A stemmer keeps the word it is working on in its attributes, so one shared by a worker's
    request threads mixed their words: an ``IndexError`` (a search answered 500 under load) or,
    worse, a wrong stem written to the index by one ingestion while another stemmed.
    """
    stemmer = getattr(_STEMMERS, "stemmer", None)
    if stemmer is None:
        stemmer = _STEMMERS.stemmer = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def text_tokens(text: str) -> list[Token]:
    """The significant words of ``text`` in order, stop words left out."""
    tokens = []
    for match in _WORD.finditer(text):
        stem = _term(match.group())
        if stem:
            tokens.append(Token(stem, match.start(), match.end()))
    return tokens


def text_terms(text: str) -> list[str]:
    """The terms of :func:`text_tokens`, without their places (what the index stores).

    ASCII text, the common case, is split without the regular expression: its bytes with every
    byte but a letter or digit made a blank, split on blanks (the same words as ``_WORD`` there,
    in a quarter of the time; indexing a batch of conversations spent most of its time in it).
    """
    if text.isascii():
        return list(filter(None, map(_ascii_term, text.encode().translate(_ASCII_BLANKS).split())))
    return [term for word in _WORD.findall(text) if (term := _term(word))]


@lru_cache(maxsize=65536)
def _ascii_term(word: bytes) -> str | None:
    return _term(word.decode())


def phrase_normalize(q: str) -> str:
    """The phrase as saved in the history and compared: trimmed, inner blanks collapsed."""
    return " ".join(q.split())


@dataclass(frozen=True)
class SearchQuery:
    """A validated ``q``: the phrase as typed and its terms in order (repeats kept, for the phrase)."""

    phrase: str
    terms: tuple[str, ...]

    @property
    def words(self) -> tuple[str, ...]:
        """The distinct terms, in order of first appearance."""
        return tuple(dict.fromkeys(self.terms))


def search_query_parse(q: str, *, field: str = "q") -> SearchQuery:
    """``q`` checked against the limits; a phrase of stop words only is refused (400 naming ``field``)."""
    phrase = phrase_normalize(q)
    if not phrase:
        raise ApiError(f"{field} must not be blank.", code="invalid", field=field)
    if len(phrase) > MAX_QUERY_LENGTH:
        raise ApiError(
            f"{field} is {len(phrase)} characters long; the limit is {MAX_QUERY_LENGTH}.",
            code="out_of_range", field=field,
        )
    terms = tuple(text_terms(phrase))
    if not terms:
        raise ApiError(
            f"{field} holds only stop words (articles, pronouns, prepositions and the like), which the "
            "search ignores: add a significant word.",
            code="only_stop_words", field=field,
        )
    if len(terms) > MAX_QUERY_WORDS:
        raise ApiError(
            f"{field} has {len(terms)} significant words; the limit is {MAX_QUERY_WORDS}.",
            code="too_many", field=field,
        )
    return SearchQuery(phrase=phrase, terms=terms)


def phrase_spans(stems: Sequence[str], query: SearchQuery) -> list[tuple[int, int]]:
    """Where ``query`` matches in ``stems``: each whole-phrase occurrence as one span, every other
    matched word its own; a span is the indexes of its first and last stem.

    Stop words are not stems, so "refund was not received" holds the phrase "refund not received".
    Works on :func:`text_terms` as on the stems of :func:`text_tokens` (the same sequence), so the
    snippets can rank a unit by its matches without placing its words.
    """
    phrase = list(query.terms)
    first, size, words = phrase[0], len(phrase), set(phrase)
    spans: list[tuple[int, int]] = []
    index, count = 0, len(stems)
    while index < count:
        stem = stems[index]
        if stem in words:
            if size > 1 and stem == first and list(stems[index:index + size]) == phrase:
                spans.append((index, index + size - 1))
                index += size
                continue
            spans.append((index, index))
        index += 1
    return spans


def highlight_ranges(tokens: Sequence[Token], query: SearchQuery) -> list[tuple[int, int]]:
    """The character ranges of :func:`phrase_spans` in the text ``tokens`` come from (end exclusive)."""
    return [
        (tokens[first].start, tokens[last].end)
        for first, last in phrase_spans([token.stem for token in tokens], query)
    ]
