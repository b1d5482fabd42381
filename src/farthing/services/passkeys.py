"""Passkeys (WebAuthn, py_webauthn): registration and assertion ceremonies with user verification
required (the device's biometric or PIN), several passkeys per customer, origin and RP ID checked.

A passkey whose sign count goes back (an assertion counting lower than one seen before) may be a
cloned authenticator: the assertion is refused, the passkey flagged and no longer offered, and the
event recorded. The relying party comes from `FARTHING_RP_ID` and `FARTHING_ORIGIN`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, options_to_json_dict
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from farthing.clock import Clock
from farthing.domain.factors import StoredPasskey
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.security_log import SecurityLog

CEREMONY_S = 300
RP_NAME = "Farthing"


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    origin: str

    @classmethod
    def from_env(cls) -> RelyingParty:
        return cls(
            os.environ.get("FARTHING_RP_ID", "localhost"), os.environ.get("FARTHING_ORIGIN", "http://localhost:8402")
        )


class PasskeyRepository(Protocol):
    """Ceremonies (a challenge used once) and registered passkeys; SQL in `farthing.adapters.passkeys_sql`."""

    def open_ceremony(
        self, ceremony: str, party: str, kind: str, challenge: bytes, now_ms: int, expires_ms: int
    ) -> None: ...

    def take_ceremony(self, ceremony: str, party: str | None, kind: str, now_ms: int) -> tuple[bytes, int] | None:
        """A waiting ceremony's challenge and expiry, now marked used; `party` None matches any."""
        ...

    def offered(self, party: str) -> list[bytes]:
        """Credential ids of the party's passkeys neither revoked nor flagged."""
        ...

    def add(
        self, factor: str, party: str, credential_id: bytes, public_key: bytes, sign_count: int, now_ms: int
    ) -> bool:
        """False if the credential is registered already."""
        ...

    def owner(self, credential_id: bytes) -> str | None: ...

    def find(self, party: str, credential_id: bytes) -> StoredPasskey | None: ...

    def flag(self, factor: str, now_ms: int) -> None: ...

    def count_up(self, factor: str, sign_count: int) -> None:
        """Keep the higher of the stored and the new sign count."""
        ...


class Passkeys:
    def __init__(self, repo: PasskeyRepository, clock: Clock, log: SecurityLog, rp: RelyingParty | None = None) -> None:
        self.repo = repo
        self.clock = clock
        self.log = log
        self.rp = rp or RelyingParty.from_env()

    def _party(self, principal: Principal) -> str:
        if principal.kind != "customer" or principal.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "passkeys belong to a customer: use a customer key")
        return principal.party_id

    # -- registration ----------------------------------------------------------------------------

    def registration_options(self, principal: Principal) -> tuple[str, dict[str, Any]]:
        """A registration ceremony: its id and the PublicKeyCredentialCreationOptions for the browser."""
        party = self._party(principal)
        challenge = secrets.token_bytes(32)
        ceremony = "wac_" + secrets.token_hex(12)
        now = self.clock()
        self.repo.open_ceremony(ceremony, party, "registration", challenge, now, now + CEREMONY_S * 1000)
        options = generate_registration_options(
            rp_id=self.rp.id, rp_name=RP_NAME, user_name=party,
            user_id=hashlib.sha256(b"farthing-user:" + party.encode()).digest()[:16],  # no personal data
            challenge=challenge, timeout=CEREMONY_S * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.REQUIRED
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in self.repo.offered(party)],
        )  # fmt: skip
        return ceremony, options_to_json_dict(options)

    def register(self, principal: Principal, ceremony: str, credential: dict[str, Any]) -> str:
        """Verify the authenticator's answer to the ceremony and keep the passkey; its factor id."""
        party = self._party(principal)
        now = self.clock()
        taken = self.repo.take_ceremony(ceremony, party, "registration", now)
        if taken is None:
            raise PlatformError(ErrorCode.not_found, f"no registration ceremony {ceremony!r} waiting")
        challenge, expires_ms = taken
        if now >= expires_ms:
            raise PlatformError(ErrorCode.challenge_expired, "the registration ceremony expired; start another")
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self.rp.id,
                expected_origin=self.rp.origin, require_user_verification=True,
            )  # fmt: skip
        except (InvalidRegistrationResponse, InvalidJSONStructure, KeyError, ValueError, TypeError) as exc:
            self.log.record("passkey.registration_failed", party, principal.key_id, reason=str(exc)[:200])
            raise PlatformError(ErrorCode.authentication_failed, f"the passkey was not accepted: {exc}") from None
        factor = "fac_" + secrets.token_hex(12)
        added = self.repo.add(factor, party, verified.credential_id, verified.credential_public_key,
                              verified.sign_count, now)  # fmt: skip
        if not added:
            raise PlatformError(ErrorCode.validation_failed, "this passkey is registered already")
        self.log.record("factor.enrolled", party, principal.key_id, factor=factor, method="passkey")
        return factor

    # -- signing in -------------------------------------------------------------------------------

    def signin_options(self) -> tuple[str, dict[str, Any]]:
        """A sign-in ceremony: options offering no credential, so the device picks its own passkey."""
        challenge = secrets.token_bytes(32)
        ceremony = "wac_" + secrets.token_hex(12)
        now = self.clock()
        self.repo.open_ceremony(ceremony, "", "signin", challenge, now, now + CEREMONY_S * 1000)
        options = generate_authentication_options(rp_id=self.rp.id, challenge=challenge, timeout=CEREMONY_S * 1000,
                                                  user_verification=UserVerificationRequirement.REQUIRED)  # fmt: skip
        return ceremony, options_to_json_dict(options)

    def sign_in(self, ceremony: str, assertion: dict[str, Any]) -> str:
        """The party whose passkey answered the sign-in ceremony (used once)."""
        now = self.clock()
        taken = self.repo.take_ceremony(ceremony, None, "signin", now)
        if taken is None:
            raise PlatformError(ErrorCode.not_found, f"no sign-in ceremony {ceremony!r} waiting")
        if now >= taken[1]:
            raise PlatformError(ErrorCode.challenge_expired, "the sign-in ceremony expired; start another")
        try:
            credential_id = base64url_to_bytes(str(assertion["rawId"]))
        except (KeyError, ValueError, TypeError):
            raise PlatformError(ErrorCode.validation_failed, "the passkey assertion has no rawId") from None
        party = self.repo.owner(credential_id)
        if party is None or self.verify(party, taken[0], assertion) is None:
            self.log.record("signin.failed", party, None, method="passkey")
            raise PlatformError(ErrorCode.authentication_failed, "the passkey was not accepted")
        return party

    # -- assertions ------------------------------------------------------------------------------

    def request_options(self, party: str, challenge: bytes) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptions for a challenge, offering the party's passkeys."""
        options = generate_authentication_options(
            rp_id=self.rp.id, challenge=challenge, timeout=CEREMONY_S * 1000,
            allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in self.repo.offered(party)],
            user_verification=UserVerificationRequirement.REQUIRED,
        )  # fmt: skip
        return options_to_json_dict(options)

    def verify(self, party: str, challenge: bytes, assertion: dict[str, Any]) -> str | None:
        """The passkey factor that signed `challenge` with user verification, or None. A sign count
        that went back flags the passkey (a cloned authenticator?) and refuses the assertion."""
        try:
            credential_id = base64url_to_bytes(str(assertion["rawId"]))
        except (KeyError, ValueError, TypeError):
            raise PlatformError(ErrorCode.validation_failed, "the passkey assertion has no rawId") from None
        stored = self.repo.find(party, credential_id)
        if stored is None or stored.flagged:
            return None
        factor, public_key, count = stored.id, stored.public_key, stored.sign_count
        try:
            verified = verify_authentication_response(
                credential=assertion, expected_challenge=challenge, expected_rp_id=self.rp.id,
                expected_origin=self.rp.origin, credential_public_key=public_key,
                credential_current_sign_count=count, require_user_verification=True,
            )  # fmt: skip
        except InvalidAuthenticationResponse as exc:
            log = self.log.record
            if "sign count" in str(exc).lower():
                self.repo.flag(factor, self.clock())
                log("passkey.flagged", party, None, factor=factor, reason="sign count went back")
            else:
                log("passkey.assertion_failed", party, None, factor=factor, reason=str(exc)[:200])
            return None
        except (InvalidJSONStructure, KeyError, ValueError, TypeError) as exc:
            raise PlatformError(ErrorCode.validation_failed, f"the passkey assertion is malformed: {exc}") from None
        self.repo.count_up(factor, verified.new_sign_count)
        return factor
