"""Making API keys and their digests. Kept apart from the services so the
authentication class and the services hash keys the same way."""

import hashlib
import secrets

# Characters of the key kept in clear to tell one token from another on a page.
PREFIX_LENGTH = 8


def api_key_new() -> str:
    """A new key: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def api_token_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
