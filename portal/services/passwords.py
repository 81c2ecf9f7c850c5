"""Password hashing (Argon2id) and the password policy (OWASP ASVS 5.0, section 6.2)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.errors import ValidationError
from portal.services import password_patterns

MIN_LENGTH = 8
MAX_LENGTH = 128  # ASVS asks for at least 64; the cap bounds the hashing work per request


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    """Return the Argon2id hasher with this app's cost parameters."""
    cfg = current_app.config
    return _hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    """Return an Argon2id hash of the password."""
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether the password matches the hash, never raising on a mismatch."""
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: dict[str, str] = {}


def burn_verify(password: str) -> None:
    """Spend the same time as a real verification, so unknown accounts are not revealed."""
    key = "dummy"
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("not-a-real-password-for-timing")
    verify_password(_DUMMY[key], password)


@cache
def common_passwords() -> frozenset[str]:
    """Return the 30,000 most common passwords from zxcvbn's maintained frequency list."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def check_policy(password: str, *, context: tuple[str, ...] = ()) -> None:
    """Raise ValidationError when the password breaks the policy; composition rules do not apply."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            str(_l("Use at least %(n)d characters.", n=MIN_LENGTH)), field="password"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationError(
            str(_l("Use at most %(n)d characters.", n=MAX_LENGTH)), field="password"
        )
    lowered = password.lower()
    if lowered in common_passwords():
        raise ValidationError(
            str(_l("This password is too common. Choose a less predictable one.")),
            field="password",
        )
    if password_patterns.is_predictable(password):
        raise ValidationError(
            str(
                _l(
                    "Digit runs, repeated digits, dates and phrases such as woaini1314 are "
                    "the first passwords anyone tries. Choose a less predictable one."
                )
            ),
            field="password",
        )
    for item in context:
        if item and len(item) >= 4 and item.lower() in lowered:
            raise ValidationError(
                str(_l("Do not use your phone number, email or name in the password.")),
                field="password",
            )
