"""What the HTTP channels (webhook, Zalo) share: reading failures and `Retry-After`.

A 5xx and a connection that cannot be made (refused, reset, DNS, connect timeout) say the
peer is down (`unreachable`: the dispatcher pauses the channel); 429 and a read timeout are
retried row by row; any other 4xx is permanent.
"""

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
    """Return the failure an HTTP status means (429/5xx transient, 5xx the peer down, other
    4xx permanent)."""
    code = response.status_code
    if code < 400:
        return None
    reason = f"{peer} answered HTTP {code}: {response.text[:200]}"
    if code == 429 or code >= 500:
        return DeliveryError(reason, retry_after=retry_after(response.headers.get("Retry-After"), now),
                             unreachable=code >= 500)
    return DeliveryError(reason, permanent=True)


def transport_error(exc: httpx.TransportError, peer: str) -> DeliveryError:
    """A connection refused, reset or timed out: worth retrying; the peer is down unless it
    merely answered slowly."""
    slow = isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout)
    kind = "did not answer in time" if slow else "is unreachable"
    return DeliveryError(f"{peer} {kind} ({type(exc).__name__})",
                         unreachable=isinstance(exc, httpx.NetworkError | httpx.ConnectTimeout))
