"""The export datasets by name. Add a dataset by listing its :class:`exports.registry.Dataset` here.

``conversations``, ``transcripts`` and ``events`` are reserved for the conversation content app:
requests naming them are refused with a clear message until their datasets are listed.
"""

from __future__ import annotations

from exports.datasets.interactions import CALLDETAILS, INTERACTIONS
from exports.datasets.qa_contacts import QA_CONTACTS
from exports.registry import Dataset

DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in (INTERACTIONS, CALLDETAILS, QA_CONTACTS)}
PLANNED = ("conversations", "transcripts", "events")


def dataset_names() -> tuple[str, ...]:
    return (*DATASETS, *(name for name in PLANNED if name not in DATASETS))
