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

import pyotp
import segno

from farthing.adapters.platform_db import PlatformDb
from farthing.clock import Clock
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


@dataclass(frozen=True, slots=True)
class FactorView:
    id: str
    kind: str
    created_ms: int
    confirmed_ms: int | None
    flagged_ms: int | None


class Factors:
    def __init__(self, db: PlatformDb, clock: Clock, log: SecurityLog) -> None:
        self.db = db
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
        self.db.query(
            "INSERT INTO factors (id, party_id, kind, secret, created_ms) VALUES (?, ?, 'totp', ?, ?)",
            (factor_id, party, secret.encode(), self.clock()),
        )
        uri = pyotp.TOTP(secret, interval=TOTP_STEP_S).provisioning_uri(name=party, issuer_name=ISSUER)
        image = ""
        if qr:  # about 12 ms of pure Python: skipped by callers that show no code (the simulator)
            svg = io.BytesIO()
            segno.make(uri, error="m").save(svg, kind="svg", scale=4)
            image = "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode()
        self.log.record("factor.enrolled", party, principal.key_id, factor=factor_id, method="totp")
        return Enrolment(factor_id, secret, uri, image)

    def confirm_totp(self, principal: Principal, factor_id: str, code: str) -> list[str]:
        """The first code proves the app holds the secret; answers the recovery codes (shown once)."""
        party = self._party(principal)
        rows = self.db.query(
            "SELECT confirmed_ms FROM factors WHERE id = ? AND party_id = ? AND kind = 'totp' AND revoked_ms IS NULL",
            (factor_id, party),
        )
        if not rows:
            raise PlatformError(ErrorCode.not_found, f"no TOTP factor {factor_id!r}")
        if rows[0][0] is not None:
            raise PlatformError(ErrorCode.factor_already_confirmed, "this factor was confirmed already")
        if not self._accept_totp(factor_id, code, confirmed=False):
            self.log.record("factor.confirm_failed", party, principal.key_id, factor=factor_id)
            raise PlatformError(ErrorCode.authentication_failed, "the code is not the one the app shows now")
        now = self.clock()
        self.db.query("UPDATE factors SET confirmed_ms = ? WHERE id = ?", (now, factor_id))
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO recovery_codes (party_id, code_sha256, created_ms) VALUES (?, ?, ?)",
                [(party, _digest(c), now) for c in codes],
            )
        self.log.record("factor.confirmed", party, principal.key_id, factor=factor_id)
        return codes

    def verify(self, party: str, code: str | None = None, recovery_code: str | None = None) -> str | None:
        """The factor that accepts `code` (a TOTP code of any confirmed factor) or the recovery code,
        consuming it; None when none does."""
        if recovery_code is not None:
            normalized = recovery_code.strip().upper()
            if not _RECOVERY.match(normalized):
                raise PlatformError(ErrorCode.validation_failed, "a recovery code looks like ABCD-EFGH-IJKL-MNOP")
            used = self.db.query(
                "UPDATE recovery_codes SET used_ms = ? WHERE party_id = ? AND code_sha256 = ? AND used_ms IS NULL "
                "RETURNING party_id",
                (self.clock(), party, _digest(normalized)),
            )
            return "recovery_code" if used else None
        if code is None:
            return None
        rows = self.db.query(
            "SELECT id FROM factors WHERE party_id = ? AND kind = 'totp' AND confirmed_ms IS NOT NULL "
            "AND revoked_ms IS NULL ORDER BY created_ms",
            (party,),
        )
        for (factor_id,) in rows:
            if self._accept_totp(factor_id, code, confirmed=True):
                return str(factor_id)
        return None

    def _accept_totp(self, factor_id: str, code: str, confirmed: bool) -> bool:
        if not isinstance(code, str) or not _CODE.match(code):
            raise PlatformError(ErrorCode.validation_failed, "a TOTP code is 6 digits")
        rows = self.db.query("SELECT secret, last_step FROM factors WHERE id = ?", (factor_id,))
        if not rows:
            return False
        secret, last_step = bytes(rows[0][0]).decode(), int(rows[0][1])
        totp = pyotp.TOTP(secret, interval=TOTP_STEP_S)
        now_s = self.clock() // 1000
        step = now_s // TOTP_STEP_S
        for candidate in range(step - TOTP_WINDOW_STEPS, step + TOTP_WINDOW_STEPS + 1):
            if candidate <= last_step:
                continue  # that step's code was used already (a replay), or an earlier one
            if hmac.compare_digest(totp.at(candidate * TOTP_STEP_S), code):
                taken = self.db.query(
                    "UPDATE factors SET last_step = ? WHERE id = ? AND last_step < ? RETURNING id",
                    (candidate, factor_id, candidate),
                )
                return bool(taken)  # another request took this step first: a replay
        return False

    # -- reading ---------------------------------------------------------------------------------

    def list(self, principal: Principal) -> list[FactorView]:
        party = self._party(principal)
        rows = self.db.query(
            "SELECT id, kind, created_ms, confirmed_ms, flagged_ms FROM factors WHERE party_id = ? "
            "AND revoked_ms IS NULL ORDER BY created_ms",
            (party,),
        )
        return [FactorView(str(r[0]), str(r[1]), int(r[2]), r[3], r[4]) for r in rows]

    def has_factor(self, party: str) -> bool:
        return bool(
            self.db.query(
                "SELECT 1 FROM factors WHERE party_id = ? AND confirmed_ms IS NOT NULL AND revoked_ms IS NULL "
                "AND flagged_ms IS NULL LIMIT 1",
                (party,),
            )
        )


def _recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 bits: 16 characters
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()
