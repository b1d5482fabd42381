"""The master keys that wrap each subject's data key (envelope encryption, AES-256-GCM).

Keys come from `FARTHING_MASTER_KEYS` ("id:base64key,id:base64key": the first is current, the others
still unwrap what they wrapped, so a rotation re-wraps at leisure), else from the file named by
`FARTHING_MASTER_KEY_FILE`, else from `<ledger>.master-key` beside an embedded SQLite ledger, made on
first use (mode 0600). A key is 32 random bytes. Losing every master key loses every person's data, as
erasing a subject's data key loses that subject's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from farthing.errors import ErrorCode, FarthingError

NONCE_BYTES = 12


class KeyVaultError(FarthingError):
    """Keys missing or malformed, or a ciphertext that does not authenticate (tampered)."""


@dataclass(frozen=True)
class KeyVault:
    keys: dict[str, bytes]
    current: str

    @classmethod
    def from_env(cls, beside: str | None = None) -> KeyVault:
        spec = os.environ.get("FARTHING_MASTER_KEYS")
        if spec:
            return cls.parse(spec)
        path = os.environ.get("FARTHING_MASTER_KEY_FILE") or (f"{beside}.master-key" if beside else None)
        if path is None:
            raise KeyVaultError(
                ErrorCode.key_vault_invalid, "set FARTHING_MASTER_KEYS or FARTHING_MASTER_KEY_FILE (32-byte keys)"
            )
        file = Path(path)
        if not file.exists():
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(f"k1:{base64.b64encode(secrets.token_bytes(32)).decode()}\n")
        return cls.parse(file.read_text().strip().replace("\n", ","))

    @classmethod
    def parse(cls, spec: str) -> KeyVault:
        keys: dict[str, bytes] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key_id, sep, encoded = part.partition(":")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if not sep or not key_id or len(raw) != 32 or key_id in keys:
                raise KeyVaultError(ErrorCode.key_vault_invalid, f"master key {key_id!r}: want id:base64(32 bytes)")
            keys[key_id] = raw
        if not keys:
            raise KeyVaultError(ErrorCode.key_vault_invalid, "no master key given")
        return cls(keys, next(iter(keys)))

    def wrap(self, data_key: bytes, subject: str) -> tuple[str, bytes]:
        """The data key sealed under the current master key: (master key id, nonce + ciphertext)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return self.current, nonce + AESGCM(self.keys[self.current]).encrypt(nonce, data_key, _aad(subject))

    def derive(self, purpose: str) -> bytes:
        """32 bytes for `purpose` (such as the receipt signing key's seed), derived from the current master
        key (HMAC-SHA256): the same in every process that shares the master key, nothing stored."""
        return hmac.new(self.keys[self.current], b"farthing:derive:" + purpose.encode(), hashlib.sha256).digest()

    def unwrap(self, key_id: str, sealed: bytes, subject: str) -> bytes:
        master = self.keys.get(key_id)
        if master is None:
            raise KeyVaultError(ErrorCode.key_vault_invalid, f"master key {key_id!r} is not configured")
        return open_sealed(master, sealed, _aad(subject))


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise KeyVaultError(ErrorCode.personal_data_tampered, "a ciphertext did not authenticate") from None


def _aad(subject: str) -> bytes:
    return b"farthing-data-key:" + subject.encode()
