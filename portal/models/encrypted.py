"""Column types that keep their values encrypted at rest (portal/data_keys.py holds the keys)."""

from __future__ import annotations

from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from portal import data_keys


class _Encrypted(TypeDecorator):
    """A value stored as a Fernet token in a text column; None stays NULL."""

    impl = Text
    cache_ok = True

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where  # "table.column", for the error when no key decrypts a value

    def process_bind_param(self, value, dialect):
        return None if value is None else data_keys.encrypt(self.to_text(value))

    def process_result_value(self, value, dialect):
        return None if value is None else self.from_text(data_keys.decrypt(value, self.where))

    def to_text(self, value) -> str:
        raise NotImplementedError

    def from_text(self, text: str):
        raise NotImplementedError


class EncryptedFloat(_Encrypted):
    """A float kept exactly (its shortest round-trip repr), encrypted."""

    cache_ok = True

    def to_text(self, value) -> str:
        return repr(float(value))

    def from_text(self, text: str) -> float:
        return float(text)


class EncryptedInt(_Encrypted):
    """An integer (fen, basis points), encrypted."""

    cache_ok = True

    def to_text(self, value) -> str:
        return str(int(value))

    def from_text(self, text: str) -> int:
        return int(text)


class EncryptedText(_Encrypted):
    """A string (a signing secret, a policy number), encrypted."""

    cache_ok = True

    def to_text(self, value) -> str:
        return str(value)

    def from_text(self, text: str) -> str:
        return text


# Every encrypting column type: key rotation and the bench's bulk loader look for these.
ENCRYPTED_TYPES = (EncryptedFloat, EncryptedInt, EncryptedText)
