"""Backup encryption: AES-256-GCM over 1 MiB chunks, so a backup of any size streams.

File layout: a 24-byte header (magic, key id, random nonce prefix), then chunks of
(final flag, length, ciphertext). Each chunk's nonce is the prefix and the chunk's index; its
associated data is the header, the index and the final flag, so a changed, reordered, dropped
or appended chunk, a changed header and a cut-off file all fail authentication.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"M4SBAK\x00\x01"
CHUNK = 1024 * 1024
TAG = 16
_FRAME = struct.Struct(">BI")  # final flag, ciphertext length


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


def new_key() -> str:
    """Return a new random backup key (32 bytes, urlsafe base64)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def parse_key(text: str) -> bytes:
    """Return the 32 key bytes of a urlsafe-base64 backup key, or raise BackupError."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise BackupError(
            "M4S_BACKUP_KEY must be 32 bytes in urlsafe base64 "
            "(make one with `flask --app wsgi m4s backup-key`)."
        )
    return key


def _key_id(key: bytes) -> bytes:
    return hmac.new(key, b"m4s backup key id", hashlib.sha256).digest()[:8]


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">IB", index, final)


def encrypt_file(key: bytes, source: Path, target: Path) -> None:
    """Encrypt source into target."""
    aead = AESGCM(key)
    header = MAGIC + _key_id(key) + os.urandom(8)
    with source.open("rb") as plain, target.open("wb") as out:
        out.write(header)
        index, chunk = 0, plain.read(CHUNK)
        while True:
            following = plain.read(CHUNK) if chunk else b""
            final = not following
            nonce = header[16:24] + struct.pack(">I", index)
            sealed = aead.encrypt(nonce, chunk, _aad(header, index, final))
            out.write(_FRAME.pack(final, len(sealed)) + sealed)
            if final:
                break
            index, chunk = index + 1, following


def decrypt_file(key: bytes, source: Path, target: Path) -> None:
    """Decrypt source into target, or raise BackupError if the key or the file is wrong."""
    aead = AESGCM(key)
    with source.open("rb") as sealed, target.open("wb") as out:
        header = sealed.read(24)
        if len(header) != 24 or header[:8] != MAGIC:
            raise BackupError(f"{source.name} is not an M4S backup.")
        if not hmac.compare_digest(header[8:16], _key_id(key)):
            raise BackupError(f"{source.name} was made with another backup key.")
        index = 0
        while True:
            frame = _read_exactly(sealed, _FRAME.size, source)
            final, length = _FRAME.unpack(frame)
            if final not in (0, 1) or length > CHUNK + TAG:
                raise _tampered(source)
            data = _read_exactly(sealed, length, source)
            nonce = header[16:24] + struct.pack(">I", index)
            try:
                out.write(aead.decrypt(nonce, data, _aad(header, index, bool(final))))
            except InvalidTag:
                raise _tampered(source) from None
            if final:
                break
            index += 1
        if sealed.read(1):
            raise _tampered(source)


def _read_exactly(stream: BinaryIO, size: int, source: Path) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise _tampered(source)
    return data


def _tampered(source: Path) -> BackupError:
    return BackupError(f"{source.name} was changed or cut short after it was written: refused.")
