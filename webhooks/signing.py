"""Webhook signatures: ``X-Webhook-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``.

The key is the webhook secret of the API client the delivery belongs to; the timestamp is the Unix
time in seconds of the attempt (``X-Webhook-Timestamp``), so a receiver can refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac

# How old a timestamp a receiver built on webhook_signature_valid accepts by default.
TOLERANCE_SECONDS = 300


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature_headers(*, secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    stamp = str(timestamp)
    signature = webhook_signature(secret=secret, timestamp=stamp, body=body)
    return {"X-Webhook-Timestamp": stamp, "X-Webhook-Signature": signature}


def webhook_signature_valid(
    *, secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """What a receiver checks: the signature matches (compared in constant time) and the timestamp
    is within ``tolerance`` seconds of ``now``."""
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return age <= tolerance and hmac.compare_digest(expected, signature)
