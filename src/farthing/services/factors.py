"""Second factors: TOTP (RFC 6238, pyotp) and its recovery codes; the security events they leave.

A TOTP factor is enrolled unconfirmed (its secret and a QR code shown once), confirmed by a first code,
and from then on accepts a code for the current 30-second step or one step either side. Each accepted
step is remembered, so a code is used once: the update that records it succeeds only if no later or
equal step was accepted before, in any process. Recovery codes (80 random bits each) are kept as
SHA-256 and work once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

import pyotp

from farthing.clock import Clock
from farthing.domain.factors import FactorView
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.security_log import SecurityLog

TOTP_STEP_S = 30
TOTP_WINDOW_STEPS = 1
RECOVERY_CODES = 10
ISSUER = "Farthing"
_CODE = re.compile(r"^[0-9]{6}$")
_RECOVERY = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$")


@dataclass(frozen=True, slots=True)
class Enrolment:
    factor_id: str
    secret: str
    """Base32, for authenticator apps that cannot read the QR code; shown once."""
    uri: str
    qr_svg: str
    """A data: URI of the QR code of `uri`, as an SVG image."""


class FactorRepository(Protocol):
    def add_totp(self, factor_id: str, party: str, secret: bytes, created_ms: int) -> None: ...

    def totp_confirmed_ms(self, factor_id: str, party: str) -> int | bool | None:
        """False: no such live TOTP factor of the party; else when it was confirmed (None: not yet)."""
        ...

    def confirm(self, factor_id: str, party: str, now_ms: int, recovery_digests: list[bytes]) -> None:
        """Mark the factor confirmed and keep the party's recovery codes (as digests), together."""
        ...

    def use_recovery(self, party: str, digest: bytes, now_ms: int) -> bool:
        """Spend an unused recovery code; whether there was one."""
        ...

    def confirmed_totps(self, party: str) -> list[str]:
        """The party's confirmed, live TOTP factors, oldest first."""
        ...

    def totp_secret(self, factor_id: str) -> tuple[bytes, int] | None:
        """(secret, last step accepted) of a TOTP factor."""
        ...

    def take_step(self, factor_id: str, step: int) -> bool:
        """Record `step` as accepted if no equal or later one was: whether it was taken (in any process)."""
        ...

    def of_party(self, party: str) -> list[FactorView]: ...

    def has_factor(self, party: str) -> bool:
        """Whether the party has a confirmed, live, unflagged factor of any kind."""
        ...


class Factors:
    def __init__(self, repo: FactorRepository, clock: Clock, log: SecurityLog) -> None:
        self.repo = repo
        self.clock = clock
        self.log = log

    def _party(self, principal: Principal) -> str:
        if principal.kind != "customer" or principal.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "second factors belong to a customer: use a customer key")
        return principal.party_id

    # -- TOTP ------------------------------------------------------------------------------------

    def enrol_totp(self, principal: Principal, qr: bool = True) -> Enrolment:
        """A new, unconfirmed TOTP factor: its secret, otpauth URI and (with `qr`) the QR code to scan."""
        party = self._party(principal)
        secret = pyotp.random_base32()
        factor_id = "fac_" + secrets.token_hex(12)
        self.repo.add_totp(factor_id, party, secret.encode(), self.clock())
        uri = pyotp.TOTP(secret, interval=TOTP_STEP_S).provisioning_uri(name=party, issuer_name=ISSUER)
        image = ""
        if qr:  # about 12 ms of pure Python: skipped by callers that show no code (the simulator)
            svg = io.BytesIO()
            import segno  # the QR code maker: loaded by the first enrolment, not every start

            segno.make(uri, error="m").save(svg, kind="svg", scale=4)
            image = "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode()
        self.log.record("factor.enrolled", party, principal.key_id, factor=factor_id, method="totp")
        return Enrolment(factor_id, secret, uri, image)

    def confirm_totp(self, principal: Principal, factor_id: str, code: str) -> list[str]:
        """The first code proves the app holds the secret; answers the recovery codes (shown once)."""
        party = self._party(principal)
        confirmed = self.repo.totp_confirmed_ms(factor_id, party)
        if confirmed is False:
            raise PlatformError(ErrorCode.not_found, f"no TOTP factor {factor_id!r}")
        if confirmed is not None:
            raise PlatformError(ErrorCode.factor_already_confirmed, "this factor was confirmed already")
        if not self._accept_totp(factor_id, code, confirmed=False):
            self.log.record("factor.confirm_failed", party, principal.key_id, factor=factor_id)
            raise PlatformError(ErrorCode.authentication_failed, "the code is not the one the app shows now")
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        self.repo.confirm(factor_id, party, self.clock(), [_digest(c) for c in codes])
        self.log.record("factor.confirmed", party, principal.key_id, factor=factor_id)
        return codes

    def verify(self, party: str, code: str | None = None, recovery_code: str | None = None) -> str | None:
        """The factor that accepts `code` (a TOTP code of any confirmed factor) or the recovery code,
        consuming it; None when none does."""
        if recovery_code is not None:
            normalized = recovery_code.strip().upper()
            if not _RECOVERY.match(normalized):
                raise PlatformError(ErrorCode.validation_failed, "a recovery code looks like ABCD-EFGH-IJKL-MNOP")
            used = self.repo.use_recovery(party, _digest(normalized), self.clock())
            return "recovery_code" if used else None
        if code is None:
            return None
        for factor_id in self.repo.confirmed_totps(party):
            if self._accept_totp(factor_id, code, confirmed=True):
                return factor_id
        return None

    def _accept_totp(self, factor_id: str, code: str, confirmed: bool) -> bool:
        if not isinstance(code, str) or not _CODE.match(code):
            raise PlatformError(ErrorCode.validation_failed, "a TOTP code is 6 digits")
        found = self.repo.totp_secret(factor_id)
        if found is None:
            return False
        secret, last_step = found[0].decode(), found[1]
        totp = pyotp.TOTP(secret, interval=TOTP_STEP_S)
        now_s = self.clock() // 1000
        step = now_s // TOTP_STEP_S
        for candidate in range(step - TOTP_WINDOW_STEPS, step + TOTP_WINDOW_STEPS + 1):
            if candidate <= last_step:
                continue  # that step's code was used already (a replay), or an earlier one
            if hmac.compare_digest(totp.at(candidate * TOTP_STEP_S), code):
                return self.repo.take_step(factor_id, candidate)  # not taken: another request's first, a replay
        return False

    # -- reading ---------------------------------------------------------------------------------

    def list(self, principal: Principal) -> list[FactorView]:
        return self.repo.of_party(self._party(principal))

    def has_factor(self, party: str) -> bool:
        return self.repo.has_factor(party)


def _recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 bits: 16 characters
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()
