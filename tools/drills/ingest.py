"""A steady ingestion stream from a separate process, every batch's outcome logged for checking.

Each interval the stream POSTs one batch of interaction records and one batch of Quality AI
contacts, with ids numbered by batch (:mod:`drills.records`); every ``resend_every``-th
interaction batch is sent a second time, which must update and never duplicate. Outcomes are
JSON lines, so that whatever the drill does to the server (stop its database, its Redis) the
record of what was sent and answered survives.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from tools.drills.client import Answer, call
from tools.drills.records import INGEST_CONTACTS, INGEST_INTERACTIONS, contact_record, interaction_record, json_body
from tools.drills.stack import BOT_ID, ORG_ID


@dataclass(frozen=True)
class StreamPlan:
    base_url: str
    token: str
    tag: str  # 14 hex characters, unique to the run
    interval_s: float
    interactions_per_batch: int
    contacts_per_batch: int
    resend_every: int  # 0: never
    start: datetime  # time of the first record; batch n starts n minutes later
    timeout_s: float = 60.0


@dataclass
class BatchOutcome:
    kind: str  # "interactions" | "contacts"
    batch: int
    size: int
    resend: bool
    status: int  # 0: no answer (refused, reset, timed out)
    created: int
    updated: int
    rejected: int
    sent_at: float  # wall clock, seconds
    latency_s: float
    retry_after: str
    envelope: bool  # a non-200 answer was the JSON error envelope
    error: str


def _outcome(kind: str, batch: int, size: int, resend: bool, sent_at: float, answer: Answer) -> BatchOutcome:
    created = updated = rejected = 0
    if answer.status == 200:
        result = answer.json()
        created, updated, rejected = result["created"], result["updated"], len(result["rejected"])
    return BatchOutcome(
        kind=kind, batch=batch, size=size, resend=resend, status=answer.status, created=created, updated=updated,
        rejected=rejected, sent_at=sent_at, latency_s=answer.latency_s,
        retry_after=answer.headers.get("retry-after", ""),
        envelope=answer.status != 200 and answer.is_error_envelope(),
        error=answer.error or ("" if answer.status == 200 else answer.body[:500].decode(errors="replace")),
    )


def batch_bodies(plan: StreamPlan, batch: int) -> tuple[bytes, bytes]:
    """The interactions and contacts bodies of batch number ``batch``: the same every time."""
    base = plan.start + timedelta(minutes=batch)
    interactions = [
        interaction_record(tag=plan.tag, batch=batch, index=index, bot_id=BOT_ID, org_id=ORG_ID,
                           start=base + timedelta(seconds=index))
        for index in range(plan.interactions_per_batch)
    ]
    contacts = [
        contact_record(tag=plan.tag, batch=batch, index=index, start=base + timedelta(seconds=index))
        for index in range(plan.contacts_per_batch)
    ]
    return json_body({"records": interactions}), json_body({"records": contacts})


def _run(plan: StreamPlan, stop: Any, in_flight: Any, out_path: str) -> None:
    """The stream's process: one interval at a time, on a fixed schedule, until ``stop`` is set.

    ``in_flight`` holds the wall-clock time the request now outstanding was sent (0 when none), so
    the drill can cut a dependency while a batch is being processed.
    """
    headers = {"auth": plan.token, "Content-Type": "application/json"}
    contacts_path = INGEST_CONTACTS.format(stream=BOT_ID)
    began = time.monotonic()
    with open(out_path, "a", encoding="utf-8") as out:

        def post(kind: str, path: str, body: bytes, batch: int, size: int, resend: bool) -> None:
            sent_at = time.time()
            in_flight.value = sent_at
            answer = call(plan.base_url, "POST", path, headers=headers, body=body, timeout_s=plan.timeout_s)
            in_flight.value = 0.0
            out.write(json.dumps(asdict(_outcome(kind, batch, size, resend, sent_at, answer))) + "\n")
            out.flush()

        batch = 0
        while not stop.is_set():
            interactions, contacts = batch_bodies(plan, batch)
            post("interactions", INGEST_INTERACTIONS, interactions, batch, plan.interactions_per_batch, False)
            post("contacts", contacts_path, contacts, batch, plan.contacts_per_batch, False)
            if plan.resend_every and batch % plan.resend_every == plan.resend_every - 1:
                post("interactions", INGEST_INTERACTIONS, interactions, batch, plan.interactions_per_batch, True)
            batch += 1
            # A fixed schedule, not a fixed pause: a slow answer must not lower the offered rate.
            stop.wait(max(0.0, began + batch * plan.interval_s - time.monotonic()))


class IngestStream:
    """``with IngestStream(plan, out_path) as stream: ...; stream.stop(); stream.outcomes()``."""

    def __init__(self, plan: StreamPlan, out_path: Path) -> None:
        self.plan = plan
        self.out_path = out_path
        # spawn: the drill has threads running (wrk readers, probes); forking them is unsafe.
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._in_flight = self._context.Value("d", 0.0)
        self._process: Any = None

    def __enter__(self) -> IngestStream:
        self.out_path.write_text("")
        self._process = self._context.Process(
            target=_run, args=(self.plan, self._stop, self._in_flight, str(self.out_path)), name="ingest-stream",
            daemon=True,
        )
        self._process.start()
        return self

    def wait_in_flight(self, *, for_at_least_s: float, timeout_s: float) -> float:
        """Block until a request has been outstanding for ``for_at_least_s``; its send time (0: none)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            sent_at = self._in_flight.value
            if sent_at and time.time() - sent_at >= for_at_least_s:
                return sent_at
            time.sleep(0.02)
        return 0.0

    def stop(self) -> None:
        """Finish the batch in flight, then stop (bounded by the request timeout)."""
        if self._process is None:
            return
        self._stop.set()
        self._process.join(timeout=self.plan.timeout_s * 3 + 10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._process = None

    def outcomes(self) -> list[BatchOutcome]:
        lines = self.out_path.read_text(encoding="utf-8").splitlines()
        return [BatchOutcome(**json.loads(line)) for line in lines if line.strip()]

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
