"""Who is calling: the per-request authentication hot path (keys, the key cache, open mode).

Key checking is on once an admin key exists: ADMIN_API_KEY (the bootstrap key, an organization
admin), or any key in the database. Until then each bearer token is its own tenant with write access
(local mode's first-run behaviour) and the organization endpoints are off.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from datetime import datetime, timezone

from ..catalog.accounts import Accounts, KeyMatch
from ..errors import AuthenticationFailed, PermissionDenied
from ..ids import ADMIN_KEY_PREFIX, PROJECT_KEY_PREFIX, now
from ..settings import Settings
from .limits import Limits
from .principal import Principal

BOOTSTRAP_KEY_ID = "key_bootstrap"

INVALID_KEY_HINT = "Check the key, or ask an admin of your project for one."
ORG_ADMIN_ONLY = "This operation needs an organization admin key."
KEYS_OFF_MESSAGE = (
    "API key management is off: set ADMIN_API_KEY (or create an admin key with "
    "`python -m vector_store_api.tools.keys create-admin`) to switch key checking on."
)


def hash_key(key: str) -> str:
    """Keys are 256-bit random strings, so a plain SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def redact(key: str) -> str:
    """A listing-safe form: the prefix and a few characters from each end ("sk-proj-Ab3d...x9Yz")."""
    prefix = next((p for p in (PROJECT_KEY_PREFIX, ADMIN_KEY_PREFIX) if key.startswith(p)), "")
    body = key[len(prefix):]
    if len(body) < 16:
        return prefix + "***"
    return f"{prefix}{body[:4]}...{body[-4:]}"


def open_mode_tenant(token: str) -> str:
    """Before any key exists, each distinct bearer token is its own tenant (stored only as a hash)."""
    return "tenant_" + hash_key(token)[:32]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def require_keys_enabled(principal: Principal) -> None:
    if not principal.keys_enabled:
        raise PermissionDenied(KEYS_OFF_MESSAGE, code="keys_not_configured")


def require_org_admin(principal: Principal) -> None:
    require_keys_enabled(principal)
    if not principal.is_org_admin:
        raise PermissionDenied(ORG_ADMIN_ONLY, code="insufficient_permissions")


class Authenticator:
    def __init__(self, accounts: Accounts, settings: Settings):
        self._accounts = accounts
        self.defaults = Limits.defaults(settings)
        admin_key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
        self._bootstrap_hash = hash_key(admin_key) if admin_key else None
        self._keys_enabled = self._bootstrap_hash is not None  # latches on: keys never switch off again
        self._cache_seconds = settings.api_key_cache_seconds
        self._cache: dict[str, tuple[float, KeyMatch]] = {}
        self._cache_lock = threading.Lock()

    def _match(self, key_hash: str) -> tuple[KeyMatch, bool]:
        """The key's row (and project), from the short-lived cache or the database; True if fetched."""
        now_mono = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now_mono:
            return cached[1], False
        match = self._accounts.match_key(key_hash)
        if self._cache_seconds > 0:
            with self._cache_lock:
                if len(self._cache) > 10_000:  # unknown keys must not grow it without bound
                    self._cache.clear()
                self._cache[key_hash] = (now_mono + self._cache_seconds, match)
        return match, True

    def forget_cached(self) -> None:
        """Keys, projects or limits changed: forget every cached lookup."""
        with self._cache_lock:
            self._cache.clear()

    def key_created(self) -> None:
        """A key now exists, so key checking is on (for good)."""
        self._keys_enabled = True
        self.forget_cached()

    # ------------------------------------------------------------------ authentication
    def authenticate(self, token: str) -> Principal:
        cached = self.authenticate_cached(token)
        if cached is not None:
            return cached
        match, fetched = self._match(hash_key(token))
        return self._principal(token, match, fetched)

    def authenticate_cached(self, token: str) -> Principal | None:
        """`authenticate` without I/O: None when the key's row is not cached (call `authenticate`)."""
        presented = hash_key(token)
        if self._bootstrap_hash is not None and hmac.compare_digest(presented, self._bootstrap_hash):
            return self._org_admin(BOOTSTRAP_KEY_ID)
        cached = self._cache.get(presented)
        if cached is None or cached[0] <= time.monotonic():
            return None
        return self._principal(token, cached[1], False)

    def _principal(self, token: str, match: KeyMatch, fetched: bool) -> Principal:
        self._keys_enabled = self._keys_enabled or match.keys_exist
        key = match.key
        if key is None:
            if not self._keys_enabled:
                tenant = open_mode_tenant(token)
                d = self.defaults
                return Principal(tenant, tenant, "write", None, d.requests_per_minute, d.store_writes_per_minute, False)
            raise AuthenticationFailed(
                f"Incorrect API key provided: {redact(token)}. {INVALID_KEY_HINT}", code="invalid_api_key"
            )
        current = now()
        if key["revoked_at"] is not None:
            raise AuthenticationFailed(f"The API key {key['redacted_value']} has been revoked.", code="invalid_api_key")
        if key["expires_at"] is not None and key["expires_at"] <= current:
            raise AuthenticationFailed(
                f"The API key {key['redacted_value']} expired at {_iso(key['expires_at'])}.", code="invalid_api_key"
            )
        if match.project_archived:
            raise AuthenticationFailed(
                f"The project {key['project_id']} of this API key has been archived.", code="invalid_api_key"
            )
        if fetched:
            self._accounts.touch_key(key["id"], current)
        if key["project_id"] is None:
            return self._org_admin(key["id"])
        limits = self.defaults.with_overrides(match.project_limits)
        return Principal(
            key_id=key["id"],
            project_id=key["project_id"],
            role=key["role"],
            vector_store_ids=frozenset(key["vector_store_ids"]) if key["vector_store_ids"] is not None else None,
            requests_per_minute=(
                key["requests_per_minute"] if key["requests_per_minute"] is not None else limits.requests_per_minute
            ),
            store_writes_per_minute=limits.store_writes_per_minute,
        )

    def _org_admin(self, key_id: str) -> Principal:
        d = self.defaults
        return Principal(key_id, None, "admin", None, d.requests_per_minute, d.store_writes_per_minute)
