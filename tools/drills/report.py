"""A drill's verdict: named checks with their evidence, written as JSON and printed as a summary."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from tools.harness.server import REPO
from tools.harness.wrk import WrkResult

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        # Other people's test runs share these cores: a load average well above 0 means they did.
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
    }


def code_version() -> dict[str, Any]:
    """The commit measured, and whether the working tree differed from it (others edit it too)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "modified_files": changed}


# Lines the app logs for a 500 (errors.exception_handler, django.request) and any traceback.
_LOG_MARKERS = ("Unhandled exception", "Internal Server Error", "Traceback")


def log_markers(path: Path) -> dict[str, int]:
    """How often each marker appears in a process's log (stderr)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    return {marker: text.count(marker) for marker in _LOG_MARKERS}


def wrk_summary(result: WrkResult) -> dict[str, Any]:
    summary = asdict(result)
    summary.pop("output")
    summary["status_counts"] = {str(status): count for status, count in sorted(result.status_counts.items())}
    return {key: round(value, 2) if isinstance(value, float) else value for key, value in summary.items()}


class Report:
    def __init__(self, drill: str, *, settings: dict[str, Any]) -> None:
        self.drill = drill
        self.settings = settings
        self.started = time.time()
        self.checks: list[Check] = []
        self.data: dict[str, Any] = {}

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name=name, ok=bool(ok), detail=detail))
        return bool(ok)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def write(self) -> Path:
        """``<drill>-latest.json`` (every number) and ``<drill>-latest.md`` (the checks, for reading)."""
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.drill}-latest.json"
        document = {
            "drill": self.drill,
            "passed": self.passed,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "duration_s": round(time.time() - self.started, 1),
            "machine": machine(),
            "code": code_version(),
            "settings": self.settings,
            "checks": [asdict(check) for check in self.checks],
            "data": self.data,
        }
        path.write_text(json.dumps(document, indent=2) + "\n")
        path.with_suffix(".md").write_text(self.markdown(document))
        return path

    @staticmethod
    def markdown(document: dict[str, Any]) -> str:
        """The checks of a written result as a Markdown page (the JSON beside it has the figures)."""
        code = document["code"]
        modified = f", modified files {', '.join(code['modified_files'])}" if code["modified_files"] else ""
        lines = [
            f"# {document['drill']} drill: {'passed' if document['passed'] else 'FAILED'}",
            "",
            f"Started {document['started_at']}, {document['duration_s']} s in all; commit {code['commit']}"
            f"{modified}; {document['machine']['cores']} cores, load average at the end "
            f"{document['machine']['load_average_at_end']}. Settings: `{json.dumps(document['settings'])}`. "
            f"Every figure is in `{document['drill']}-latest.json`.",
            "",
            "| check | result | evidence |",
            "| --- | --- | --- |",
        ]
        for check in document["checks"]:
            detail = check["detail"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {check['name']} | {'ok' if check['ok'] else 'FAIL'} | {detail} |")
        return "\n".join(lines) + "\n"

    def print_summary(self, path: Path) -> None:
        print(f"\n== {self.drill} drill: {'PASSED' if self.passed else 'FAILED'} ({path})")
        for check in self.checks:
            print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")

    def finish(self) -> int:
        """Write the results, print the summary; the process exit code (1 when a check failed)."""
        path = self.write()
        self.print_summary(path)
        return 0 if self.passed else 1
