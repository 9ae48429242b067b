"""What the HTTP channels (webhook, Zalo) share: reading failures and `Retry-After`."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from notifiers.base import DeliveryError


def retry_after(value: str | None, now: datetime) -> float | None:
    """Parse `Retry-After` (seconds or an HTTP date) into seconds from `now`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def status_error(response: httpx.Response, now: datetime, peer: str) -> DeliveryError | None:
    """Return the failure an HTTP status means (429/5xx transient, other 4xx permanent)."""
    code = response.status_code
    if code < 400:
        return None
    reason = f"{peer} answered HTTP {code}: {response.text[:200]}"
    if code == 429 or code >= 500:
        return DeliveryError(reason, retry_after=retry_after(response.headers.get("Retry-After"), now))
    return DeliveryError(reason, permanent=True)


def transport_error(exc: httpx.TransportError, peer: str) -> DeliveryError:
    """A connection refused, reset or timed out: always worth retrying."""
    kind = "did not answer in time" if isinstance(exc, httpx.TimeoutException) else "is unreachable"
    return DeliveryError(f"{peer} {kind} ({type(exc).__name__})")
