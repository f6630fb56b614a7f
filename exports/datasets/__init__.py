"""The export datasets by name. Add a dataset by listing its :class:`exports.registry.Dataset` here."""

from __future__ import annotations

from exports.datasets.conversations import CONVERSATIONS, EVENTS, TRANSCRIPTS
from exports.datasets.interactions import CALLDETAILS, INTERACTIONS
from exports.datasets.qa_contacts import QA_CONTACTS
from exports.registry import Dataset

DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in (
    INTERACTIONS, CALLDETAILS, QA_CONTACTS, CONVERSATIONS, TRANSCRIPTS, EVENTS,
)}
# Datasets named in the contract but not yet served (refused by name with a clear message).
PLANNED: tuple[str, ...] = ()


def dataset_names() -> tuple[str, ...]:
    return (*DATASETS, *(name for name in PLANNED if name not in DATASETS))
