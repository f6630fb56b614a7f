"""Reading /metrics in tests: one scrape parsed into samples, and the change between two scrapes."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    text: str

    def value(self, name: str, **labels: str) -> float:
        """A sample's value (0 when absent: a counter not yet incremented)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def label_values(self) -> set[str]:
        return {value for _name, labels in self.samples for _key, value in labels}


def scrape(**headers: str) -> Scrape:
    """GET /metrics from this machine (127.0.0.1, allowed by default) and parse it."""
    answer = Client().get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.content
    text = answer.content.decode()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return Scrape(samples=samples, text=text)


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)
