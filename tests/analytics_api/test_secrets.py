from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from analytics_api.models import ApiClient
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db


def _stored(client: ApiClient) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_secret FROM analytics_api_apiclient WHERE id = %s", [client.pk])
        return cursor.fetchone()[0]


def test_client_secret_is_encrypted_at_rest(tenant: Tenant) -> None:
    secret = tenant.api_client.secret
    assert len(secret) >= 43
    assert secret not in _stored(tenant.api_client)


def test_rotation_re_encrypts_with_the_new_key(db: Any, settings: Any) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRET_ENCRYPTION_KEYS = [old_key]
    client = make_tenant().api_client
    secret = client.secret

    settings.SECRET_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_secret_encryption", stdout=io.StringIO())
    settings.SECRET_ENCRYPTION_KEYS = [new_key]
    client.refresh_from_db()
    assert client.secret == secret
    assert Fernet(new_key.encode()).decrypt(_stored(client).encode()).decode() == secret


def test_a_secret_sealed_with_a_dropped_key_fails_loudly(db: Any, settings: Any) -> None:
    settings.SECRET_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    make_tenant()
    settings.SECRET_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="keep its old key in SECRET_ENCRYPTION_KEYS"):
        call_command("rotate_secret_encryption", stdout=io.StringIO())


def test_admin_shows_only_a_prefix_of_the_secret(tenant: Tenant, admin_client: Any) -> None:
    response = admin_client.get(f"/admin/analytics_api/apiclient/{tenant.api_client.pk}/change/")
    assert response.status_code == 200
    assert tenant.api_client.secret not in response.content.decode()
    assert f"{tenant.api_client.secret[:4]}…" in response.content.decode()
