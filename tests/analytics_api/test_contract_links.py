"""docs/contract.md is the one written contract: every citation of it resolves, and nothing else is cited.

Code, tests, OpenAPI descriptions and documents point at a rule as ``docs/contract.md#<anchor>``,
the anchor being a heading's GitHub slug. Renaming a heading without its citations, or citing a
rule that was never written, fails here; so does a leftover citation of the old design document
or a path outside the repository (a fresh clone must have everything its tests and docs use).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "contract.md"

# Not the project's files: version control, environments, caches, local data.
_SKIPPED_DIRS = frozenset(
    {".git", ".venv", "venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules", "build"}
)
_CITATION = re.compile(r"docs/contract\.md#([A-Za-z0-9_-]+)")
_LOCAL_LINK = re.compile(r"\]\(#([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
# Spelled in pieces so that this file does not contain what it forbids.
_FORBIDDEN = ("DESIGN" + " §", "/work" + "/shared", "../" + "shared")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def contract_anchors(text: str) -> set[str]:
    """Every heading's anchor, outside fenced code; repeated headings get ``-1``, ``-2``… as on GitHub."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match is None:
            continue
        slug = github_slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def repository_texts() -> Iterator[tuple[Path, str]]:
    """Each text file of the repository with its content (binary files are skipped)."""
    stack = [ROOT]
    while stack:
        directory = stack.pop()
        for path in sorted(directory.iterdir()):
            if path.is_dir():
                if path.name not in _SKIPPED_DIRS and not path.name.endswith(".egg-info"):
                    stack.append(path)
                continue
            try:
                yield path, path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue


def _where(path: Path, text: str, index: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, index) + 1}"


def test_github_slugs_are_computed_like_github() -> None:
    assert github_slug("Seven-day window") == "seven-day-window"
    assert github_slug("interactionDetails and calldetails") == "interactiondetails-and-calldetails"
    assert github_slug("S3 recording sources") == "s3-recording-sources"
    assert github_slug("`timeZoneOffset`: minutes, UTC − local") == "timezoneoffset-minutes-utc--local"
    assert contract_anchors("# A\n## A\n```\n# B\n```\n") == {"a", "a-1"}


def test_every_cited_anchor_exists_in_the_contract() -> None:
    anchors = contract_anchors(CONTRACT.read_text(encoding="utf-8"))
    assert "seven-day-window" in anchors
    broken: list[str] = []
    cited = 0
    for path, text in repository_texts():
        for match in _CITATION.finditer(text):
            cited += 1
            if match.group(1) not in anchors:
                broken.append(f"{_where(path, text, match.start())}: #{match.group(1)}")
        if path == CONTRACT:
            broken += [
                f"{_where(path, text, match.start())}: #{match.group(1)}"
                for match in _LOCAL_LINK.finditer(text)
                if match.group(1) not in anchors
            ]
    assert cited > 20, "the code and documents should cite the contract"
    assert broken == [], "citations of docs/contract.md whose anchor is no heading there:\n" + "\n".join(broken)


@pytest.mark.parametrize("forbidden", _FORBIDDEN)
def test_nothing_cites_the_old_design_document_or_reads_outside_the_repository(forbidden: str) -> None:
    found = [
        _where(path, text, match.start())
        for path, text in repository_texts()
        for match in re.finditer(re.escape(forbidden), text)
    ]
    assert found == [], f"{forbidden!r} found in:\n" + "\n".join(found)
