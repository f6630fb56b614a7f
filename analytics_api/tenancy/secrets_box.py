"""Encryption at rest for API client secrets.

The secrets must be recoverable (they are HS256 keys), so they are encrypted, not hashed. Keys come
from ``SECRET_ENCRYPTION_KEYS`` (comma-separated Fernet keys, newest first): rotating means putting
a new key in front, running ``python manage.py rotate_secret_encryption``, then dropping the old key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...], fallback: str) -> MultiFernet:
    if not keys:
        # Without configured keys, derive one from SECRET_KEY so the embedded setup still encrypts.
        keys = (base64.urlsafe_b64encode(hashlib.sha256(f"client-secrets:{fallback}".encode()).digest()).decode(),)
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "SECRET_ENCRYPTION_KEYS must be comma-separated Fernet keys (32 url-safe base64-encoded bytes)"
        ) from None


def box() -> MultiFernet:
    return _box(tuple(settings.SECRET_ENCRYPTION_KEYS), settings.SECRET_KEY)


def seal(secret: str) -> str:
    return box().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return box().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An API client secret cannot be decrypted: its key is missing from SECRET_ENCRYPTION_KEYS"
        ) from None


def reseal(sealed: str) -> str:
    """Re-encrypt with the newest key (for key rotation)."""
    try:
        return box().rotate(sealed.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An API client secret cannot be decrypted: keep its old key in SECRET_ENCRYPTION_KEYS while rotating"
        ) from None
