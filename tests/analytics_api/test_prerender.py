"""Pre-rendered texts: the shared marker kit, ``manage.py prerender``, and self-contained migrations."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from analytics_api.kernel.prerender import marked_text, placeholder_json
from conversations.demo import interactions_seed
from conversations.documents import SERVED_DOCUMENTS, document_prerender
from conversations.models import Interaction
from qualityai.demo import contacts_seed
from qualityai.models import QaContact
from qualityai.rendering import SERVED_RESULTS, contact_prerender
from tests.conftest import Tenant

ROOT = Path(__file__).resolve().parents[2]
# The version both formats are bumped to (from 1) in these tests.
BUMPED = 2


def _prerender(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("prerender", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def stored(tenant: Tenant) -> Tenant:
    """A tenant with demo interactions and contacts, every text pre-rendered at ingestion."""
    conversations = interactions_seed(account=tenant.account, days=1, per_day=12, seed=4)
    contacts_seed(account=tenant.account, conversations=conversations, seed=4)
    assert QaContact.objects.exists()
    return tenant


@pytest.fixture
def bumped(stored: Tenant, monkeypatch: pytest.MonkeyPatch) -> Tenant:
    """As after an upgrade that bumped both formats: every stored text is stale."""
    for spec in (SERVED_DOCUMENTS, SERVED_RESULTS):
        assert spec.version == BUMPED - 1
        monkeypatch.setattr(spec, "version", BUMPED)
    Interaction.objects.update(served="stale")
    QaContact.objects.update(served="stale")
    return stored


def _versions() -> set[int]:
    return set(Interaction.objects.values_list("served_version", flat=True)) | set(
        QaContact.objects.values_list("served_version", flat=True)
    )


@pytest.mark.django_db
def test_prerender_re_renders_every_row_of_another_version(bumped: Tenant) -> None:
    interactions, contacts = Interaction.objects.count(), QaContact.objects.count()
    out, err = _prerender()
    assert _versions() == {SERVED_DOCUMENTS.version} == {SERVED_RESULTS.version}
    for row in Interaction.objects.all():
        assert row.served == document_prerender(row.document)
        assert row.served is not None
    for contact in QaContact.objects.all():
        assert contact.served == contact_prerender(contact)
        assert contact.served is not None
    assert re.fullmatch(
        rf"interactions: re-rendered {interactions} rows \(format version 2\) in \d+\.\d s; none left.\n"
        rf"qa_contacts: re-rendered {contacts} rows \(format version 2\) in \d+\.\d s; none left.\n",
        out,
    )
    assert f"interactions: {interactions}/{interactions} rows (100%)" in err
    assert f"qa_contacts: {contacts}/{contacts} rows (100%)" in err
    assert "rows/s" in err


@pytest.mark.django_db
def test_a_second_run_does_nothing(bumped: Tenant, django_assert_num_queries: Any) -> None:
    _prerender()
    with django_assert_num_queries(2):  # one count per dataset
        out, err = _prerender()
    assert "interactions: re-rendered 0 rows" in out
    assert "qa_contacts: re-rendered 0 rows" in out
    assert err == ""


@pytest.mark.django_db
def test_an_interrupted_run_leaves_the_rest_for_the_next(bumped: Tenant) -> None:
    total = Interaction.objects.count()
    out, _err = _prerender("--dataset", "interactions", "--limit", "5", "--batch-size", "2")
    assert "re-rendered 5 rows (format version 2)" in out
    assert f"{total - 5} left: run prerender again to finish." in out
    # The first rows in key order are done; the rest are untouched, and still served correctly.
    pks = list(Interaction.objects.order_by("pk").values_list("pk", flat=True))
    done = set(Interaction.objects.filter(served_version=2).values_list("pk", flat=True))
    assert done == set(pks[:5])
    assert set(QaContact.objects.values_list("served_version", flat=True)) == {1}
    out, _err = _prerender("--dataset", "interactions")
    assert f"re-rendered {total - 5} rows" in out
    assert "none left." in out
    assert set(Interaction.objects.values_list("served_version", flat=True)) == {2}


@pytest.mark.django_db
def test_rows_of_a_later_version_are_re_rendered_too(stored: Tenant) -> None:
    # As after a downgrade: their text is of a format this code does not know.
    Interaction.objects.update(served="from the future", served_version=SERVED_DOCUMENTS.version + 1)
    _prerender("--dataset", "interactions")
    for row in Interaction.objects.all():
        assert (row.served, row.served_version) == (document_prerender(row.document), SERVED_DOCUMENTS.version)


@pytest.mark.django_db
def test_a_row_that_cannot_be_marked_is_done_once(stored: Tenant) -> None:
    row = Interaction.objects.order_by("pk").first()
    assert row is not None
    Interaction.objects.filter(pk=row.pk).update(
        document={**row.document, "metaInfo": {"note": "\x01"}}, served="stale", served_version=0
    )
    out, _err = _prerender("--dataset", "interactions")
    assert "re-rendered 1 rows" in out
    assert Interaction.objects.filter(pk=row.pk).values_list("served", "served_version").get() == (
        None, SERVED_DOCUMENTS.version,
    )
    out, _err = _prerender("--dataset", "interactions")
    assert "re-rendered 0 rows" in out


@pytest.mark.django_db
@pytest.mark.parametrize("batches", [1, 2, 4])
def test_queries_per_batch_are_constant(bumped: Tenant, django_assert_num_queries: Any, batches: int) -> None:
    size = 3
    keep = list(Interaction.objects.order_by("pk").values_list("pk", flat=True)[: size * batches])
    Interaction.objects.exclude(pk__in=keep).update(served_version=SERVED_DOCUMENTS.version)
    # One count, then per batch: savepoint, SELECT … FOR UPDATE, one UPDATE, release.
    with django_assert_num_queries(1 + 4 * batches):
        _prerender("--dataset", "interactions", "--batch-size", str(size))
    assert not SERVED_DOCUMENTS.stale().exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--batch-size", "0"), "--batch-size must be at least 1."),
        (("--limit", "-1"), "--limit must be 0 or more."),
    ],
)
def test_bad_arguments_are_refused(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        _prerender(*args)


def test_migrations_import_no_app_code() -> None:
    # A migration must do the same thing forever: live app code (a renderer) changes under it.
    # Field classes a migration names are schema, not behaviour; so are the partitioning, schema and
    # column-compression operations (DDL run once), and the django-q2 schedules
    # (a row created when absent, from the spec written in the migration).
    allowed = ("django", "sys", "datetime", "analytics_api.kernel.fields", "analytics_api.kernel.partitions",
               "analytics_api.kernel.schema_operations", "analytics_api.kernel.toast", "analytics_api.kernel.schedules")
    for path in sorted([*ROOT.glob("conversations/migrations/0*.py"), *ROOT.glob("qualityai/migrations/0*.py")]):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.startswith(allowed), f"{path.relative_to(ROOT)} imports {name}"


def test_a_look_alike_placeholder_never_passes_for_ours() -> None:
    ours = placeholder_json("status")
    marks = [(ours, '"\x01"', 1)]
    assert marked_text(f'{{"a":1,"s":{ours}}}', marks) == '{"a":1,"s":"\x01"}'
    # The document's own copy comes first and takes the replacement: ours is left, escaped.
    assert marked_text(f'{{"a":{ours},"s":{ours}}}', marks) is None
    # A reserved character anywhere else in the document.
    assert marked_text(f'{{"a":"\\u0002","s":{ours}}}', marks) is None
    # Other control characters are the document's business.
    assert marked_text(f'{{"a":"\\u000b","s":{ours}}}', marks) == '{"a":"\\u000b","s":"\x01"}'
