"""Blocks: consecutive records as NDJSON lines, cut at a file's cap and read back record by record."""

from __future__ import annotations

import orjson

from exports.registry import Block, blocks_of


def _read_back(block: Block) -> list[tuple[list[object], str]]:
    return [(block.key(i), line) for i, line in enumerate(block.lines())]


def _records(count: int) -> list[tuple[list[object], str]]:
    return [([f"2026-01-01T00:00:{n:02d}", f"s{n}"], f'{{"n":{n},"text":"a\\\\nb"}}') for n in range(count)]


def test_records_are_grouped_in_blocks_of_the_chunk_with_a_shorter_last_one() -> None:
    blocks = list(blocks_of(iter(_records(5)), 2))

    assert [block.count for block in blocks] == [2, 2, 1]
    assert blocks[0].text == '{"n":0,"text":"a\\\\nb"}\n{"n":1,"text":"a\\\\nb"}\n'
    assert [record for block in blocks for record in _read_back(block)] == _records(5)
    assert blocks[1].key(1) == ["2026-01-01T00:00:03", "s3"]


def test_no_records_make_no_block() -> None:
    assert list(blocks_of(iter([]), 3)) == []


def test_the_head_of_a_block_is_its_first_records_with_their_keys() -> None:
    (block,) = blocks_of(iter(_records(4)), 4)

    head = block.head(3)
    assert head.count == 3
    assert _read_back(head) == _records(3)
    assert head.text.endswith('{"n":2,"text":"a\\\\nb"}\n')
    assert head.key(head.count - 1) == ["2026-01-01T00:00:02", "s2"]


def test_a_block_made_of_one_text_is_read_back_line_by_line() -> None:
    block = Block(2, '{"a":1}\n{"a":2}\n', lambda i: [i])

    assert _read_back(block) == [([0], '{"a":1}'), ([1], '{"a":2}')]


def test_a_block_is_parsed_at_once_into_its_records_in_order() -> None:
    texts = ['{"a":"x,y"}', '{"a":"line\\nbreak","b":[1,2]}', '{"a":"\\u2028 \\"quoted\\"","c":null}']
    block = Block(3, "\n".join(texts) + "\n", lambda i: [i])

    assert block.parsed() == [orjson.loads(text) for text in texts]
    assert block.lines() == texts
    assert block.head(2).parsed() == [orjson.loads(text) for text in texts[:2]]


def test_a_block_is_cut_in_parts_of_bounded_text_that_keep_every_record_and_key() -> None:
    (block,) = blocks_of(iter(_records(7)), 7)
    size = len(block.text) // 7  # every record's line is as long

    parts = list(block.parts(3 * size))

    assert [part.count for part in parts] == [3, 3, 1]
    assert "".join(part.text for part in parts) == block.text
    assert [record for part in parts for record in _read_back(part)] == _records(7)
    assert list(block.parts(len(block.text))) == [block]


def test_a_record_longer_than_a_part_is_a_part_of_its_own() -> None:
    (block,) = blocks_of(iter(_records(3)), 3)

    parts = list(block.parts(5))

    assert [part.count for part in parts] == [1, 1, 1]
    assert [record for part in parts for record in _read_back(part)] == _records(3)
