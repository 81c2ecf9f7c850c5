"""Encryption at rest of sensitive personal information (PIPL): precise locations, loan terms,
insurance policies.

Values are Fernet tokens (AES-128-CBC with HMAC-SHA256, a timestamp and a random IV) under
the keys of M4S_DATA_KEYS: comma-separated Fernet keys, the first one current. A value is
always written under the current key and read under any of them, so a new key is put first,
`flask m4s rotate-data-keys` re-encrypts every row under it, and then the old key is removed.
Development and tests without M4S_DATA_KEYS use one key derived from the SECRET_KEY
(``derived_dev_key``); production refuses to start without M4S_DATA_KEYS.

An encrypted value cannot be looked up (a random IV each time), so a value that must stay
unique or be found by its exact text (a policy number) also keeps a keyed hash: HMAC-SHA256
under M4S_LOOKUP_KEY, which never rotates with the data keys (a new lookup key would mean
recomputing every hash). Without the key, a hash of a short number cannot be brute-forced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class DataKeyError(RuntimeError):
    """A data key that is missing or malformed, or a value that no configured key decrypts."""


def new_key() -> str:
    """Return a new random data key for M4S_DATA_KEYS."""
    return Fernet.generate_key().decode()


def derived_dev_key(secret_key: str) -> str:
    """Return the development data key: a hash of the SECRET_KEY, never used in production."""
    digest = hashlib.sha256(b"m4s development data key:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def derived_dev_lookup_key(secret_key: str) -> str:
    """Return the development lookup key: a hash of the SECRET_KEY, never used in production."""
    return hashlib.sha256(b"m4s development lookup key:" + secret_key.encode()).hexdigest()


def lookup_hash(text: str, key: str | None = None) -> str:
    """Return the keyed hash that finds a value by its exact text (hex, 64 characters)."""
    secret = (key if key is not None else current_app.config["LOOKUP_KEY"]).encode()
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def parse_keys(text: str) -> tuple[str, ...]:
    """Split M4S_DATA_KEYS into its keys and check each one, or raise DataKeyError."""
    keys = tuple(k.strip() for k in str(text).split(",") if k.strip())
    if not keys:
        raise DataKeyError("M4S_DATA_KEYS is empty.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise DataKeyError(
                f"M4S_DATA_KEYS: key {position} is not a Fernet key (32 bytes, urlsafe base64; "
                "make one with `flask --app wsgi m4s data-key`)."
            ) from None
    return keys


@lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    fernets = [Fernet(k) for k in keys]
    return MultiFernet(fernets), fernets[0]


def keyring(keys: tuple[str, ...] | None = None) -> tuple[MultiFernet, Fernet]:
    """Return (all keys, current key) of the app's DATA_KEYS, or of the keys given."""
    return _keyring(keys if keys is not None else current_app.config["DATA_KEYS"])


def encrypt(text: str, keys: tuple[str, ...] | None = None) -> str:
    """Encrypt a text under the current key; return the token as ASCII text."""
    return keyring(keys)[1].encrypt(text.encode()).decode("ascii")


def decrypt(token: str, where: str, keys: tuple[str, ...] | None = None) -> str:
    """Decrypt a token with any configured key, or raise DataKeyError naming the column."""
    try:
        return keyring(keys)[0].decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise DataKeyError(
            f"{where}: a stored value cannot be decrypted with any key in M4S_DATA_KEYS. "
            "It was written under a key that is not configured: add that key back (after the "
            "current one) and run `flask m4s rotate-data-keys`."
        ) from None


def is_current(token: str, keys: tuple[str, ...] | None = None) -> bool:
    """Tell whether the token is already encrypted under the current key."""
    try:
        keyring(keys)[1].decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate(token: str, where: str, keys: tuple[str, ...] | None = None) -> str:
    """Return the token re-encrypted under the current key."""
    try:
        return keyring(keys)[0].rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        decrypt(token, where, keys)  # raises the clear message
        raise
