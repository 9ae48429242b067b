"""Zalo's OAuth token pair, kept in the database and refreshed under a row lock.

Zalo's refresh token is single-use: refreshing returns a new access token *and* a new
refresh token, and the old one stops working. Two processes refreshing at once would leave
one of them holding a dead token, so a refresh happens inside one write transaction that
holds the row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` locks the
whole database), calls Zalo, and stores the new pair before committing. A process that
waited for the lock finds a fresh token already there and uses it without calling Zalo.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
from sqlalchemy import select

from notifiers.base import DeliveryError
from notifiers.outbox import insert_ignoring_conflicts
from workflow.clock import Clock
from workflow.db import Database
from workflow.models import ZaloToken

#: refresh a little before Zalo says the access token expires
EXPIRY_MARGIN = timedelta(minutes=5)


def _sha256_hex(secret: str) -> str:
    """What is stored of the seed refresh token: enough to notice it was replaced."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """Hand out a valid access token for one Zalo app, refreshing it when needed."""

    def __init__(self, db: Database, *, app_id: str, secret_key: str, refresh_token: str,
                 oauth_url: str, clock: Clock, timeout: float = 10.0) -> None:
        self.db, self.app_id, self.secret_key = db, app_id, secret_key
        self.seed, self.oauth_url, self.clock = refresh_token, oauth_url.rstrip("/"), clock
        self.timeout = timeout

    def access_token(self, rejected: str | None = None) -> str:
        """Return a valid access token; `rejected` is one Zalo just refused (refresh past it).

        Blocking (database and HTTP): call it from a worker thread in async code.
        """
        now = self.clock()
        with self.db.session(write=True) as session:
            insert_ignoring_conflicts(session, ZaloToken, [dict(
                app_id=self.app_id, refresh_token=self.seed, seed_digest=_sha256_hex(self.seed),
                updated_at=now)])
            row = session.scalars(select(ZaloToken).where(ZaloToken.app_id == self.app_id)
                                  .with_for_update()).one()
            if row.seed_digest != _sha256_hex(self.seed):  # re-authorised: start from the new token
                row.access_token, row.expires_at = None, None
                row.refresh_token, row.seed_digest = self.seed, _sha256_hex(self.seed)
            fresh = row.expires_at is not None and row.expires_at - EXPIRY_MARGIN > now
            if row.access_token and fresh and row.access_token != rejected:
                return row.access_token
            access, refresh, expires_in = self._refresh(row.refresh_token)
            row.access_token, row.refresh_token = access, refresh
            row.expires_at, row.updated_at = now + timedelta(seconds=expires_in), now
            return access

    def _refresh(self, refresh_token: str) -> tuple[str, str, int]:
        """Call Zalo's OAuth endpoint; any failure is transient (the old pair stays stored)."""
        try:
            with httpx.Client(timeout=self.timeout) as client:
                response = client.post(
                    f"{self.oauth_url}/v4/oa/access_token",
                    headers={"secret_key": self.secret_key},
                    data={"refresh_token": refresh_token, "app_id": self.app_id,
                          "grant_type": "refresh_token"},
                )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DeliveryError(f"Zalo token refresh failed: {exc}") from exc
        if response.status_code >= 400 or not body.get("access_token"):
            reason = body.get("error_description") or body.get("message") or response.status_code
            raise DeliveryError(f"Zalo refused the token refresh ({body.get('error')}: {reason}); "
                                "re-authorise the app and set KIEMDIEM_ZALO_REFRESH_TOKEN")
        return body["access_token"], body["refresh_token"], int(body.get("expires_in") or 3600)
