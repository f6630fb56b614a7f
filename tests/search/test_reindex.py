"""manage.py search_reindex: conversations stored before the search are found after it runs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from search.models import SearchMessage
from tests.conftest import Tenant
from tests.search.conftest import conversation, ranking, transcript


def test_reindex_fills_the_index_of_every_account(tenant: Tenant, outsider: Tenant) -> None:
    mine = conversation(tenant, minute=1, messages=transcript(("customer", "lost luggage")), index=False)
    conversation(outsider, minute=1, messages=transcript(("customer", "lost luggage")), index=False)
    assert ranking(tenant, "lost luggage") == ([], 0)
    out = StringIO()
    call_command("search_reindex", stdout=out)
    assert ranking(tenant, "lost luggage") == ([(mine.session_id, 1)], 1)
    assert out.getvalue().splitlines()[-1] == "Indexed 2 conversations."
    call_command("search_reindex", tenant.account_id, stdout=StringIO())
    assert SearchMessage.objects.filter(conversation=mine).count() == 1


def test_reindex_of_an_unknown_account_is_refused(db: None) -> None:
    with pytest.raises(CommandError, match=r"No account nope\."):
        call_command("search_reindex", "nope")
