"""The acceptance test: the raw data API page's two sample contacts go in and come back with every key unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.qualityai.conftest import ingest, ok, rawdata

pytestmark = pytest.mark.django_db


def test_sample_contacts_round_trip_with_every_documented_key_unchanged(
    tenant: Tenant, sample: dict[str, Any], sample_contacts: list[dict[str, Any]]
) -> None:
    ingest(tenant, sample_contacts)

    page = ok(rawdata(tenant, {"offset": 0, "startDate": "2026-05-02 13:00:00", "endDate": "2026-05-02 13:05:00"}))

    assert page["totalResults"] == 2
    assert page["hasMore"] is False
    assert page["totalPages"] == 1
    by_id = {result["Conversation ID"]: result for result in page["results"]}
    for expected in sample["results"]:
        got = by_id[expected["Conversation ID"]]
        for key, value in expected.items():
            assert got[key] == value, key
        # Only our documented additions come on top of the sample's keys.
        assert set(got) - set(expected) == {"is_direction_defaulted"}
        assert got["is_direction_defaulted"] is False


def test_sample_result_keys_keep_the_documented_order(
    tenant: Tenant, sample: dict[str, Any], sample_contacts: list[dict[str, Any]]
) -> None:
    ingest(tenant, sample_contacts)

    page = ok(rawdata(tenant, {"offset": 0, "startDate": "2026-05-02", "endDate": "2026-05-02"}))

    first = next(r for r in page["results"] if r["Conversation ID"] == sample["results"][0]["Conversation ID"])
    assert [key for key in first if key != "is_direction_defaulted"] == list(sample["results"][0])


def test_sample_page_shape_matches_the_documented_envelope(
    tenant: Tenant, sample_contacts: list[dict[str, Any]]
) -> None:
    ingest(tenant, sample_contacts)

    page = ok(rawdata(tenant, {"offset": 0, "startDate": "2026-05-02", "endDate": "2026-05-02", "limit": 1}))

    assert list(page) == ["results", "totalResults", "hasMore", "totalPages"]
    assert (len(page["results"]), page["totalResults"], page["hasMore"], page["totalPages"]) == (1, 2, True, 2)
