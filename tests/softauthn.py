"""A software WebAuthn authenticator for the tests: an ES256 key pair per credential (`cryptography`),
`none` attestation, authenticator data and client data built as the WebAuthn Level 2 spec says
(§6.1 authenticator data, §6.5.4 attested credential data, §5.8.1 client data, §6.3.3 assertion
signature over authData || SHA-256(clientDataJSON)). It answers the server's real options, so the
ceremonies run end to end; nothing of the server's library is mocked.

`user_verified` says whether the "biometric" passed (the UV flag); `clone()` copies a credential with
its key and counter, as an attacker who extracted the key would have it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    id: bytes
    rp_id: str
    key: ec.EllipticCurvePrivateKey
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


@dataclass
class SoftAuthenticator:
    origin: str
    credentials: dict[bytes, Credential] = field(default_factory=dict)
    user_verified: bool = True
    aaguid: bytes = b"\x00" * 16

    def _flags(self) -> int:
        return UP | (UV if self.user_verified else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}, separators=(",", ":")).encode()  # fmt: skip

    def create(self, options: dict[str, Any], origin: str | None = None, rp_id: str | None = None) -> dict[str, Any]:
        """navigator.credentials.create: a new ES256 credential, attested with `none`."""
        rp = rp_id or options["rp"]["id"]
        cred = Credential(secrets.token_bytes(16), rp, ec.generate_private_key(ec.SECP256R1()))
        self.credentials[cred.id] = cred
        attested = self.aaguid + struct.pack(">H", len(cred.id)) + cred.id + cred.cose_public_key()
        auth_data = (hashlib.sha256(rp.encode()).digest() + bytes([self._flags() | AT])
                     + struct.pack(">I", cred.sign_count) + attested)  # fmt: skip
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(cred.id), "rawId": b64url(cred.id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                         "transports": ["internal"]},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }  # fmt: skip

    def get(
        self, options: dict[str, Any], origin: str | None = None, credential: Credential | None = None
    ) -> dict[str, Any]:
        """navigator.credentials.get: sign the challenge with an allowed credential, counter + 1."""
        if credential is None:
            allowed = [unb64url(c["id"]) for c in options.get("allowCredentials", [])]
            credential = next(self.credentials[c] for c in allowed if c in self.credentials)
        credential.sign_count += 1
        auth_data = (hashlib.sha256(credential.rp_id.encode()).digest() + bytes([self._flags()])
                     + struct.pack(">I", credential.sign_count))  # fmt: skip
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(credential.id), "rawId": b64url(credential.id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": None},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        }  # fmt: skip

    def clone(self, credential_id: bytes) -> SoftAuthenticator:
        """Another authenticator holding a copy of one credential (key and counter as they are now)."""
        copied = SoftAuthenticator(self.origin)
        copied.credentials[credential_id] = dataclasses.replace(self.credentials[credential_id])
        return copied
