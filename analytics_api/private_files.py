"""Directories and files only the service's own user can read.

``var/`` holds the generated secret key, the SQLite database, the cache and the recordings: other
users of the machine must not read them, whatever the umask. Directories are created 0700 and
files 0600; a directory that already exists keeps the mode its owner gave it.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dirs(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700.

    ``Path.mkdir(parents=True, mode=...)`` applies the mode to the last directory only; the parents
    would get the umask's default (usually world-readable), so each missing level is made here.
    """
    path = Path(path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)  # exist_ok: another process may win the race
    return path


def open_private_file(path: Path, flags: int) -> int:
    """``os.open`` with mode 0600 for a file this call creates (``flags`` should include O_CREAT)."""
    return os.open(path, flags, FILE_MODE)
