"""The PostgreSQL vectors of a conversation keep every term in order within PostgreSQL's limits."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from search.services import _MAX_POSITION, _MAX_WORD_POSITIONS, _vectors

# Units no longer than a word's position limit: a single unit beyond the limits is the one case cut short.
UNITS = st.lists(
    st.lists(st.sampled_from(["refund", "order", "late", "w1", "w2"]), max_size=_MAX_WORD_POSITIONS),
    max_size=120,
)


def _parse(vector: str) -> list[tuple[str, int]]:
    return [(part[1:part.rindex("'")], int(part.rsplit(":", 1)[1])) for part in vector.split(" ")]


@settings(max_examples=150, deadline=None)
@given(UNITS)
def test_vectors_keep_every_term_in_order_within_the_limits(units: list[list[str]]) -> None:
    vectors = [_parse(vector) for vector in _vectors(units)]

    assert [term for vector in vectors for term, _ in vector] == [term for unit in units for term in unit]
    for vector in vectors:
        positions = [position for _, position in vector]
        assert positions == sorted(set(positions)) and positions[-1] <= _MAX_POSITION
        assert max(Counter(term for term, _ in vector).values()) <= _MAX_WORD_POSITIONS
    # A unit starts one position after the previous unit's end (a gap), or at 1 in a new vector.
    cursor = iter(position for vector in vectors for _, position in vector)
    for unit in units:
        if unit:
            first = next(cursor)
            for offset in range(1, len(unit)):
                assert next(cursor) == first + offset


def test_a_long_conversation_spreads_over_several_vectors() -> None:
    units = [["refund"] * 200] * 3  # 600 positions of one word: three vectors
    assert len(list(_vectors(units))) == 3
    words = [f"w{n}" for n in range(100)]
    assert len(list(_vectors([words] * 200))) == 2  # 20,200 positions, each word 200 times
