from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "-c", "import analytics_api.settings as s; print(s.SECRET_KEY); print(s.DEBUG)"],
        cwd=ROOT, env={**clean, "VAR_DIR": str(tmp_path), **env}, capture_output=True, text=True, timeout=60,
    )


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = _load_settings(tmp_path)
    second = _load_settings(tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.splitlines()[0]
    assert len(key) >= 50
    assert second.stdout.splitlines()[0] == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_debug_is_off_by_default(tmp_path: Path) -> None:
    assert _load_settings(tmp_path).stdout.splitlines()[1] == "False"


@pytest.mark.parametrize(
    "env,message",
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be a boolean"),
        ({"RATE_LIMIT_PER_MINUTE": "lots"}, "RATE_LIMIT_PER_MINUTE must be an integer"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with sqlite:// or postgres://"),
        (
            {"Q_TIMEOUT_SECONDS": "700", "Q_RETRY_SECONDS": "600"},
            "Q_TIMEOUT_SECONDS must be lower than Q_RETRY_SECONDS",
        ),
        ({"DJANGO_DEBUG": "1", "ALLOWED_HOSTS": "api.example.com"}, "DJANGO_DEBUG may only be on"),
    ],
)
def test_bad_values_fail_loudly_naming_the_variable(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = _load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
