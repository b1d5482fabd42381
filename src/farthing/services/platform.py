"""The platform's use cases: parties and their keys, wallets, top-ups and payments.

Each payment is a ledger transfer from the customer's wallet to the merchant's, linked with the
platform's fee leg (merchant -> platform fees), so both apply or neither. Idempotency lives with the
write: a payment's transfer id is derived from its owner and `Idempotency-Key`, so a retry with the
same body finds its transfer (`exists`) and gets the same answer, a retry with another body finds the
transfer with other fields (`exists_with_different_*`), and nothing is ever applied twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic_core import to_json

from farthing import limits
from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import b16, int16
from farthing.clock import Clock, system_clock
from farthing.domain.ledger_types import (
    Account,
    AccountFlags,
    AccountState,
    Transfer,
    TransferFlags,
    linked_chain,
)
from farthing.domain.money import Currency, currency, share
from farthing.domain.policy.evaluate import Decision, Evidence, fees_of, local_day_and_month
from farthing.domain.policy.model import Policy
from farthing.domain.quick_init import quick_init
from farthing.domain.risk import velocity
from farthing.domain.risk.velocity import Velocity
from farthing.engine.committer import GroupCommitter, answered
from farthing.engine.ids import derive_id, new_id
from farthing.engine.store import ClosableLookups, OutboxEvent
from farthing.errors import AccountResult, ErrorCode, FarthingError, TransferResult
from farthing.services.funding import ChargeStatus, FundingGateway
from farthing.services.payment_policy import Gate, PaymentPolicy, PolicyRefused, Profile

if TYPE_CHECKING:
    from farthing.services.privacy import Privacy

R = TransferResult

# Account codes and transfer codes of the platform's chart of accounts.
CODE_FUNDING_CLEARING, CODE_CARD_FEES, CODE_FEE_REVENUE, CODE_CUSTOMER, CODE_MERCHANT = 1, 2, 3, 10, 20
CODE_TAX_LIABILITY, CODE_ROUNDING = 4, 5
T_TOPUP, T_CARD_FEE, T_PAYMENT, T_PLATFORM_FEE, T_REFUND, T_CHANNEL = 1, 2, 3, 4, 5, 6
T_ROUNDING, T_TAX, T_ADDED_TAX, T_ADDED_TAX_REFUND = 7, 8, 9, 10
"""A tax return's rounding residue, the tax a merchant remits, tax added to a price, and its refund."""
LAST_USED_EVERY_MS = 60_000
"""A key's last use is written at most this often (a write per request would cost the hot path)."""
KEY_CACHE_MS = 1_000
"""How long a known API key is remembered before the database is asked again."""
SCOPES = {
    "operator": "parties:write read",
    "merchant": "read payments:write refunds:write webhooks:write policy:write",
    "customer": "payments:write topups:write read",
}
"""What a key of each kind may do at most; a key may be made with fewer (`new_key(scopes=…)`). Writes
check their scope; every key may read what its party owns."""
MERCHANT_SCOPES = frozenset(SCOPES["merchant"].split())


class PlatformError(FarthingError):
    """A request the platform refuses; `code` says why and maps to an HTTP status."""


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    kind: str  # operator | merchant | customer
    party_id: str | None
    mode: str  # test | live
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    kind: str
    mode: str
    scopes: str
    created_ms: int
    revoked_ms: int | None
    prefix: str | None
    last_used_ms: int | None
    expires_ms: int | None


@dataclass(frozen=True, slots=True)
class PaymentItem:
    merchant: str
    amount: object
    """A decimal string; anything else is refused as `amount_float_not_allowed`."""
    currency: str
    reference: str | None = None
    idempotency_key: str | None = None
    evidence: Evidence | None = None
    """Where the payer is, beyond its billing country: IP, phone and payment-instrument countries."""
    capture: bool = True
    """False places a hold (a pending transfer) that `farthing.services.holds` captures or voids."""
    hold_s: int = limits.hold_s_default
    withdrawal_waived: bool = False
    """The payer waived its right of withdrawal when supply began (recorded with the policy's decision)."""
    channel: str = "remote"
    """remote (online), contactless (at a point of sale) or device (a device paying for its own use):
    the policy's SCA rules and limits may differ by channel (PSD2 RTS Art. 11 vs Art. 16)."""


@dataclass(frozen=True, slots=True)
class TopUp:
    id: str
    amount: str
    processor_fee: str
    currency: str
    replayed: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    customer: str
    merchant: str
    amount: str
    fee: str
    currency: str
    reference: str | None
    replayed: bool
    status: str = "succeeded"
    """succeeded, requires_capture (a hold), canceled (a voided hold) or expired (a hold past its time)."""
    guard_legs: int = 0
    """How many of its last ledger legs draw on a limit's headroom (internal: tells a limit from funds)."""
    policy: dict[str, object] | None = None
    """The policy's decision when one was made: version, SCA exemption, tax."""
    authentication: dict[str, object] | None = None
    """For a payment that waits for strong authentication: the challenge to answer (`farthing.services.stepup`)."""


class StepUpHook(Protocol):
    """What the payment path needs of the step-up service (`farthing.services.stepup.StepUps`)."""

    challenge_s: int

    def ready(self, party_id: str) -> bool: ...

    def annotate(self, payment: Payment) -> Payment: ...


def require_scope(principal: Principal, scope: str) -> None:
    """Refuse a key that was made without `scope` (a restricted key: `Platform.new_key(scopes=…)`)."""
    if scope not in principal.scopes:
        raise PlatformError(ErrorCode.forbidden, f"this API key was made without the {scope} scope")


_LINKED = int(TransferFlags.linked)
_Prepared = tuple[int, list[Transfer], "Payment", OutboxEvent]
"""A payment ready for the ledger: its place among the answers, its legs, itself, its event."""
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE32_PAIRS = [a + b for a in _BASE32 for b in _BASE32]
_SHIFTS = tuple(range(120, -1, -10))


def public_id_of(prefix: str, value: int) -> str:
    """`prefix` and the 128-bit id in lower-case base32 without padding (RFC 4648: 26 characters).

    Two characters at a time from a table, twice as fast as `base64.b32encode` (on every payment)."""
    bits, pairs = value << 2, _BASE32_PAIRS  # 128 bits padded to 130: 13 pairs of 5-bit characters
    return prefix + "".join([pairs[(bits >> shift) & 1023] for shift in _SHIFTS])


def _new_party_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


class Platform:
    def __init__(
        self,
        ledger: GroupCommitter,
        db: PlatformDb,
        gateway: FundingGateway,
        fee_ppm: int = 20_000,
        clock_ms: Clock = system_clock,
        policies: Mapping[str, Policy] | None = None,
    ) -> None:
        """`policies` maps a currency to the policy that decides payments in it (others pay `fee_ppm`)."""
        if not 0 <= fee_ppm < 1_000_000:
            raise ValueError(f"fee_ppm must be in 0..999999, not {fee_ppm}")
        self.ledger = ledger
        self.db = db
        self.gateway = gateway
        self.fee_ppm = fee_ppm
        self._clock = clock_ms
        self._parties: set[tuple[str, str, str]] = set()
        self.policy = PaymentPolicy(policies or {}, ledger, db)
        self._profiles: dict[str, Profile] = {}
        self._lookups: ClosableLookups | None = None
        self._lookups_lock = threading.Lock()
        self._principals: dict[bytes, tuple[Principal, int]] = {}
        self._claims: set[tuple[str, str, str]] = set()
        self._claims_lock = threading.Lock()
        self._opened: set[int] = set()
        """Accounts known to exist (with their wallet rows): asked of the ledger once per process."""
        self._account_ids: dict[tuple[str, str], int] = {}
        """(party id or platform account code, currency) → the account's id, once it is known to exist:
        deriving it is a SHA-256, three times a payment."""
        self.privacy: Privacy | None = None
        """Seals customers' personal data (`farthing.services.privacy`); set by `open_platform`."""
        self.step_ups: StepUpHook | None = None
        """Set by the step-up service: a payment the policy steps up then waits for the payer's factor."""
        self.topup_guard: Velocity | None = Velocity()
        """Pauses the top-ups of a customer whose cards keep being declined (None: no guard)."""

    @property
    def clock_ms(self) -> Clock:
        """The platform's one clock (the ledger's too): set once, at `open_platform`, never replaced."""
        return self._clock

    def close(self) -> None:
        if self._lookups is not None:
            self._lookups.close()
        self.ledger.close()
        self.db.close()

    # -- accounts --------------------------------------------------------------------------------

    def platform_account(self, code: int, cur: Currency) -> int:
        account_id = self._account_ids.get((str(code), cur.code))
        if account_id is not None:
            return account_id
        account_id = derive_id("platform", str(code), cur.code)
        if account_id not in self._opened:
            flags = int(AccountFlags.credits_must_not_exceed_debits) if code == CODE_CARD_FEES else 0
            self._create_account(Account(account_id, cur.ledger, code, flags=flags))
            self._opened.add(account_id)
        self._account_ids[(str(code), cur.code)] = account_id
        return account_id

    def _create_account(self, account: Account) -> None:
        [result] = self.ledger.create_accounts([account])
        if result not in (AccountResult.ok, AccountResult.exists):
            raise PlatformError(ErrorCode.engine_failed, f"could not open account {account.id}: {result.name}")

    def wallet_account(self, party_id: str, kind: str, cur: Currency) -> int:
        """The party's wallet in `cur`, opened on first use (the same id every time)."""
        account_id = self._account_ids.get((party_id, cur.code))
        if account_id is not None:
            return account_id
        account_id = derive_id("wallet", party_id, cur.code)
        if account_id in self._opened:
            self._account_ids[(party_id, cur.code)] = account_id
            return account_id
        code = CODE_CUSTOMER if kind == "customer" else CODE_MERCHANT
        flags = int(AccountFlags.debits_must_not_exceed_credits)
        self._create_account(Account(account_id, cur.ledger, code, flags=flags))
        self.db.query(
            "INSERT INTO wallets (party_id, currency, account_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (party_id, cur.code, b16(account_id)),
        )
        self._opened.add(account_id)
        self._account_ids[(party_id, cur.code)] = account_id
        return account_id

    # -- parties and keys ------------------------------------------------------------------------

    def create_party(
        self, principal: Principal, kind: str, name: str, country: str | None = None, age_band: str = "adult",
        personal: Mapping[str, str | None] | None = None,
    ) -> tuple[str, str, str]:  # fmt: skip
        """A new merchant or customer in the operator's mode; returns (party id, key id, secret). A
        customer's name and `personal` fields (email, phone, address) are sealed by `privacy`, never
        written in plaintext; a merchant's name is its business name, kept as it is."""
        self._require(principal, "operator", "parties:write")
        party_id = _new_party_id("mer_" if kind == "merchant" else "cus_")
        sealed = kind == "customer" and self.privacy is not None
        if sealed:
            assert self.privacy is not None
            self.privacy.seal_profile(party_id, {"name": name, **(personal or {})})
        self.db.query(
            "INSERT INTO parties (id, kind, name, mode, created_ms, country, age_band) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (party_id, kind, "" if sealed else name, principal.mode, self.clock_ms(), country, age_band),
        )
        key_id, secret = self.issue_key(kind, party_id, principal.mode)
        return party_id, key_id, secret

    def issue_key(self, kind: str, party_id: str | None, mode: str, scopes: str | None = None) -> tuple[str, str]:
        """A new API key (with all its kind's scopes unless `scopes` says fewer); the secret is returned
        once and only its SHA-256 is kept (and, to tell keys apart, its first characters)."""
        secret = f"sk_{mode}_{secrets.token_urlsafe(32)}"
        key_id = "key_" + secrets.token_hex(8)
        self.db.query(
            "INSERT INTO api_keys (id, secret_sha256, kind, party_id, mode, scopes, created_ms, prefix) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key_id, hashlib.sha256(secret.encode()).digest(), kind, party_id, mode, scopes or SCOPES[kind],
             self.clock_ms(), secret[: len(f"sk_{mode}_") + 4]),
        )  # fmt: skip
        return key_id, secret

    def key(self, key_id: str) -> KeyInfo:
        rows = self.db.query(
            "SELECT id, kind, mode, scopes, created_ms, revoked_ms, prefix, last_used_ms, expires_ms FROM api_keys "
            "WHERE id = ?",
            (key_id,),
        )
        if not rows:
            raise PlatformError(ErrorCode.not_found, f"no API key {key_id!r}")
        return KeyInfo(*rows[0])

    def keys(self, principal: Principal) -> list[KeyInfo]:
        """The caller's keys (an operator's: the operator keys), oldest first."""
        columns = (
            "SELECT id, kind, mode, scopes, created_ms, revoked_ms, prefix, last_used_ms, expires_ms FROM api_keys"
        )
        if principal.party_id is None:
            rows = self.db.query(f"{columns} WHERE kind = 'operator' ORDER BY created_ms")
        else:
            rows = self.db.query(f"{columns} WHERE party_id = ? ORDER BY created_ms", (principal.party_id,))
        return [KeyInfo(*r) for r in rows]

    def roll_key(self, principal: Principal, key_id: str, overlap_s: int) -> tuple[str, str]:
        """A new key in place of `key_id`, which keeps working for `overlap_s` more (0: stops now), so a
        deployment can switch without downtime. Returns the new key's (id, secret)."""
        if not 0 <= overlap_s <= limits.key_overlap_s_max:
            raise PlatformError(ErrorCode.validation_failed, f"overlap_s is 0 to {limits.key_overlap_s_max}")
        rows = self.db.query("SELECT party_id, kind, mode, revoked_ms, scopes FROM api_keys WHERE id = ?", (key_id,))
        mine = rows and (principal.kind == "operator" or rows[0][0] == principal.party_id)
        if not mine or rows[0][3] is not None or rows[0][2] != principal.mode:
            raise PlatformError(ErrorCode.not_found, f"no API key {key_id!r}")
        new = self.issue_key(str(rows[0][1]), rows[0][0], principal.mode, str(rows[0][4]))  # the same scopes
        ends = self.clock_ms() + overlap_s * 1000
        self.db.query(
            "UPDATE api_keys SET expires_ms = ? WHERE id = ? AND (expires_ms IS NULL OR expires_ms > ?)",
            (ends, key_id, ends),
        )
        for digest, (known, _) in list(self._principals.items()):
            if known.key_id == key_id:
                self._principals.pop(digest, None)
        self.security_event("key.rolled", rows[0][0], principal.key_id, key=key_id, new_key=new[0], overlap_s=overlap_s)
        return new

    def new_key(self, principal: Principal, scopes: Sequence[str] | None = None) -> tuple[str, str]:
        """Another key for the caller's own party (or another operator key), e.g. to rotate, or one that
        may do less (`scopes`, a subset of the caller's own): (id, secret)."""
        wanted = None
        if scopes is not None:
            extra = set(scopes) - principal.scopes
            if not scopes or extra:
                own, asked = " ".join(sorted(principal.scopes)), " ".join(sorted(extra)) or "none"
                raise PlatformError(ErrorCode.validation_failed, f"scopes are some of this key's ({own}), not {asked}")
            wanted = " ".join(sorted(set(scopes)))
        made = self.issue_key(principal.kind, principal.party_id, principal.mode, wanted)
        self.security_event("key.created", principal.party_id, principal.key_id, key=made[0], scopes=wanted)
        return made

    def revoke_key(self, principal: Principal, key_id: str) -> None:
        """Revoke a key of the caller's party (an operator may revoke any key). Takes effect at once."""
        rows = self.db.query("SELECT party_id, kind FROM api_keys WHERE id = ?", (key_id,))
        mine = rows and (principal.kind == "operator" or rows[0][0] == principal.party_id)
        if not mine:
            raise PlatformError(ErrorCode.not_found, f"no API key {key_id!r}")
        self.db.query(
            "UPDATE api_keys SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL", (self.clock_ms(), key_id)
        )
        self.security_event("key.revoked", rows[0][0], principal.key_id, key=key_id)
        for digest, (known, _) in list(self._principals.items()):  # effective at once in this process
            if known.key_id == key_id:
                self._principals.pop(digest, None)

    def security_event(
        self, kind: str, party_id: str | None, key_id: str | None, personal: Mapping[str, str | None] | None = None,
        **detail: object,
    ) -> None:  # fmt: skip
        """Append to the security log (keys made, rolled and revoked, sign-ins, step-ups, erasures …).
        `personal` (a sign-in's IP address and user agent) is sealed under a customer's data key, so that
        erasing the customer leaves the row in the append-only log, unreadable; an event of no customer
        (a sign-in with an unknown email, a merchant's staff) keeps it in the detail."""
        known = {k: v for k, v in (personal or {}).items() if v is not None}
        sealed = None
        if known and party_id is not None and party_id.startswith("cus_") and self.privacy is not None:
            sealed = self.privacy.seal_event(party_id, known)
        elif known:
            detail = {**detail, **known}
        self.db.query(
            "INSERT INTO security_events (at_ms, kind, party_id, key_id, detail, personal) VALUES (?, ?, ?, ?, ?, ?)",
            (self.clock_ms(), kind, party_id, key_id, json.dumps(detail, sort_keys=True), sealed),
        )

    def has_operator_key(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM api_keys WHERE kind = 'operator' AND revoked_ms IS NULL LIMIT 1"))

    def authenticate(self, secret: str) -> Principal | None:
        """The key's principal. Known keys are remembered for `KEY_CACHE_MS` (a database query per request
        was a tenth of the event loop's time); a revocation here takes effect at once, one made by
        another process sharing the database within that time."""
        digest = hashlib.sha256(secret.encode()).digest()
        now = self.clock_ms()
        cached = self._principals.get(digest)
        if cached is not None and now - cached[1] < KEY_CACHE_MS:
            return cached[0]
        rows = self.db.query(
            "SELECT id, kind, party_id, mode, scopes, last_used_ms FROM api_keys WHERE secret_sha256 = ? "
            "AND revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > ?)",
            (digest, now),
        )
        if not rows:
            self._principals.pop(digest, None)
            return None
        key_id, kind, party_id, mode, scopes, last_used = rows[0]
        if last_used is None or now - int(last_used) >= LAST_USED_EVERY_MS:
            self.db.query("UPDATE api_keys SET last_used_ms = ? WHERE id = ?", (now, key_id))
        principal = Principal(key_id, kind, party_id, mode, frozenset(scopes.split()))
        if len(self._principals) >= 10_000:
            self._principals.clear()
        self._principals[digest] = (principal, now)
        return principal

    def _require(self, principal: Principal, kind: str, scope: str) -> None:
        if principal.kind != kind or scope not in principal.scopes:
            raise PlatformError(ErrorCode.forbidden, f"this needs a {kind} key with the {scope} scope")

    def _party(self, party_id: str, kind: str, mode: str) -> str:
        if (party_id, kind, mode) in self._parties:
            return party_id
        rows = self.db.query("SELECT kind, mode FROM parties WHERE id = ?", (party_id,))
        if not rows or rows[0][0] != kind or rows[0][1] != mode:  # another mode's party does not exist here
            raise PlatformError(ErrorCode.not_found, f"no {kind} {party_id!r}")
        self._parties.add((party_id, kind, mode))  # a party never changes its kind or mode
        return party_id

    def profile(self, party_id: str) -> Profile:
        """The party's country and age band, as the policy sees them (kept in memory: they do not change)."""
        found = self._profiles.get(party_id)
        if found is None:
            rows = self.db.query("SELECT country, age_band FROM parties WHERE id = ?", (party_id,))
            found = Profile(rows[0][0], rows[0][1]) if rows else Profile()
            self._profiles[party_id] = found
        return found

    def decision_of(self, public_id: str, counted: bool = False) -> dict[str, object] | None:
        """The policy's decision on a payment, as its first event recorded it (None: no policy decided).
        With `counted`, the decision under which it was paid and counted: a captured hold's capture (its
        day, month and tax base), a payment's own decision otherwise."""
        base = public_id.removeprefix("pay_")
        rows = self.db.query(
            "SELECT body FROM outbox WHERE event_id IN (?, ?, ?) ORDER BY id",
            (f"evt_{base}_succeeded", f"evt_{base}_requires_capture", f"evt_{base}_requires_authentication"),
        )
        decisions = [json.loads(body)["data"].get("policy") for (body,) in rows]
        if counted:
            decisions = [d for d in decisions if isinstance(d, dict) and "decided_ms" in d][-1:] or decisions
        found = decisions[0] if decisions else None
        return found if isinstance(found, dict) else None

    def fee_for(self, cur: Currency, units: int) -> int:
        """The platform's fee on `units`: the currency's policy fee rules, else `fee_ppm`."""
        policy = self.policy.for_currency(cur.code)
        if policy is not None:
            return fees_of(policy, units, units)
        return share(units, self.fee_ppm, 1_000_000)

    # -- wallets ---------------------------------------------------------------------------------

    def wallets(self, principal: Principal) -> list[tuple[str, AccountState]]:
        if principal.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "an operator key has no wallets")
        rows = self.db.query(
            "SELECT currency, account_id FROM wallets WHERE party_id = ? ORDER BY currency", (principal.party_id,)
        )
        ids = [int16(bytes(r[1])) for r in rows]
        states = {a.id: a for a in self.ledger.accounts(ids)}
        return [(code, states[i]) for (code, _), i in zip(rows, ids, strict=True) if i in states]

    def wallet_of(self, principal: Principal, currency_code: str) -> tuple[int, Currency]:
        """The caller's wallet account in a currency, if it has one (else not found)."""
        cur = currency(currency_code)
        if principal.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "an operator key has no wallets")
        rows = self.db.query(
            "SELECT account_id FROM wallets WHERE party_id = ? AND currency = ?", (principal.party_id, cur.code)
        )
        if not rows:
            raise PlatformError(ErrorCode.not_found, f"no {cur.code} wallet")
        return int16(bytes(rows[0][0])), cur

    # -- money in and out ------------------------------------------------------------------------

    def top_up(
        self,
        principal: Principal,
        amount: object,
        currency_code: str,
        card_number: str,
        idempotency_key: str | None = None,
    ) -> TopUp:
        """Fund the customer's wallet by card, in two phases: the card is authorised, the ledger books the
        top-up with the processor's fee, then the card is captured (released if the ledger refused).
        With an `Idempotency-Key`, a retry finds the same authorisation and the same transfers."""
        self._require(principal, "customer", "topups:write")
        assert principal.party_id is not None
        cur = currency(currency_code)
        units = positive_units(cur, amount)
        if units % 10 ** (cur.scale - cur.exponent):
            raise PlatformError(ErrorCode.amount_too_precise, f"a card is charged in whole {cur.code} minor units")
        wallet = self.wallet_account(principal.party_id, "customer", cur)
        topup_id = derive_id("topup", principal.party_id, idempotency_key) if idempotency_key else new_id()
        public = public_id_of("top_", topup_id)
        with self.in_flight(principal.party_id, "topup", idempotency_key):
            self._guard_top_ups(principal.party_id)
            charge = self.gateway.authorize(card_number, units, cur, public)
            if self.topup_guard is not None:  # kept while the guard may still read it, no longer
                now = self.clock_ms()
                with self.db.transaction() as tx:
                    tx.query(
                        "DELETE FROM topup_attempts WHERE party_id = ? AND at_ms <= ?",
                        (principal.party_id, now - self.topup_guard.lookback_ms),
                    )
                    tx.query(
                        "INSERT INTO topup_attempts (party_id, at_ms, declined) VALUES (?, ?, ?)",
                        (principal.party_id, now, int(charge.status is ChargeStatus.declined)),
                    )
            if charge.status is ChargeStatus.declined:
                raise PlatformError(ErrorCode.card_declined, "the card was declined; nothing was charged")
            if charge.status is ChargeStatus.authentication_required:
                raise PlatformError(ErrorCode.card_authentication_required, "the card needs strong authentication")
            if charge.amount_units != units:
                raise PlatformError(
                    ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for a top-up of another amount"
                )
            clearing = self.platform_account(CODE_FUNDING_CLEARING, cur)
            fees = self.platform_account(CODE_CARD_FEES, cur)
            legs = [Transfer(topup_id, clearing, wallet, units, cur.ledger, T_TOPUP, flags=int(TransferFlags.linked))]
            fee_id = derive_id("card-fee", str(topup_id))
            legs.append(Transfer(fee_id, fees, clearing, charge.fee_units, cur.ledger, T_CARD_FEE))
            results = self.ledger.create_transfers(legs if charge.fee_units else legs[:1])
            replayed = all(r is R.exists for r in results)
            if not replayed and any(r is not R.ok for r in results):
                self.gateway.release(public)
                raise PlatformError(
                    ErrorCode.engine_failed, f"the top-up could not be booked: {[r.name for r in results]}"
                )
            self.gateway.capture(public)
        return TopUp(public, cur.format(units), cur.format(charge.fee_units), cur.code, replayed)

    def _guard_top_ups(self, party_id: str) -> None:
        """Refuse a top-up while the velocity guard pauses the customer's (card testing)."""
        guard = self.topup_guard
        if guard is None:
            return
        now = self.clock_ms()
        rows = self.db.query(
            "SELECT at_ms, declined FROM topup_attempts WHERE party_id = ? AND at_ms > ?",
            (party_id, now - guard.lookback_ms),
        )
        verdict = guard.assess([(int(at), bool(declined)) for at, declined in rows], now)
        if not verdict.allowed:
            logged = self.db.query(  # once per pause: a tester's every refused try would grow the log
                "SELECT 1 FROM security_events WHERE party_id = ? AND kind = 'topups.paused' AND at_ms >= ? LIMIT 1",
                (party_id, verdict.until_ms - guard.pause_ms),
            )
            if not logged:
                self.security_event("topups.paused", party_id, None, until_ms=verdict.until_ms)
            wait_s = -(-(verdict.until_ms - now) // 1000)
            raise PlatformError(ErrorCode.topups_paused, f"{verdict.reason}; try again in {wait_s} s")

    @contextmanager
    def in_flight(self, owner: str, kind: str, idempotency_key: str | None) -> Iterator[None]:
        """Claim an owner's Idempotency-Key while its request runs: a second request with the same key
        meanwhile is answered 409 (in this process; across processes the ledger still applies it once)."""
        if idempotency_key is None:
            yield
            return
        claim = (owner, kind, idempotency_key)
        with self._claims_lock:
            if claim in self._claims:
                raise PlatformError(
                    ErrorCode.idempotency_key_in_flight,
                    "a request with this Idempotency-Key is still being processed; retry once it has answered",
                )
            self._claims.add(claim)
        try:
            yield
        finally:
            with self._claims_lock:
                self._claims.discard(claim)

    def pay(self, principal: Principal, item: PaymentItem, idempotency_key: str | None) -> Payment:
        """Move the item's amount from the customer's wallet to the merchant's, the platform fee linked
        (or, with `capture=False`, place a hold); blocks until the batch holding it is committed."""
        future, payment = self._submit_payment(principal, item, idempotency_key)
        return self._waiting(_settled(payment, future.result()))  # type: ignore[arg-type]

    async def pay_async(self, principal: Principal, item: PaymentItem, idempotency_key: str | None) -> Payment:
        """`pay` for an event loop: the caller awaits the group commit instead of holding a thread."""
        future, payment = self._submit_payment(principal, item, idempotency_key)
        return self._waiting(_settled(payment, await answered(future)))  # type: ignore[arg-type]

    def submit_payment(
        self, principal: Principal, item: PaymentItem, idempotency_key: str | None
    ) -> tuple[Future[list[AccountResult] | list[TransferResult]], Payment]:
        """`pay` in two halves, for callers that submit many payments before waiting for any (the
        simulator): the future resolves once the batch is committed; `finish` turns it into the payment."""
        return self._submit_payment(principal, item, idempotency_key)

    def finish(self, payment: Payment, results: Sequence[TransferResult]) -> Payment:
        return self._waiting(_settled(payment, results))

    def _waiting(self, payment: Payment) -> Payment:
        """A payment placed to wait for strong authentication gets its challenge (opened on first sight)."""
        if payment.status == "succeeded" or self.step_ups is None:
            return payment
        return self.step_ups.annotate(payment)

    def _submit_payment(
        self, principal: Principal, item: PaymentItem, idempotency_key: str | None
    ) -> tuple[Future[list[AccountResult] | list[TransferResult]], Payment]:
        self._require(principal, "customer", "payments:write")
        assert principal.party_id is not None
        claim = self.in_flight(principal.party_id, "payment", idempotency_key)
        claim.__enter__()
        gate: Gate | None = None
        try:
            made = self._prepare(principal, item, idempotency_key, step_up=True)
            if isinstance(made, Payment):  # a retry of a payment made already
                claim.__exit__(None, None, None)
                done: Future[list[AccountResult] | list[TransferResult]] = Future()
                done.set_result([R.exists])
                return done, made
            legs, payment, event, gate = made
            future = self.ledger.submit("transfers", legs, [(0, event)])
        except BaseException:
            claim.__exit__(None, None, None)
            if gate is not None:
                self.policy.settled(gate)
            raise

        def answered(_: object) -> None:
            claim.__exit__(None, None, None)
            if gate is not None:
                self.policy.settled(gate)

        future.add_done_callback(answered)
        return future, payment

    def _prepare(
        self, principal: Principal, item: PaymentItem, key: str | None, step_up: bool = False
    ) -> tuple[list[Transfer], Payment, OutboxEvent, Gate | None] | Payment:
        """The payment's legs, or (when the policy refuses a retry of a payment made already) the
        payment as it was made; a refusal by the policy is raised as a `PlatformError`. With `step_up`,
        a payment the policy steps up is placed as a hold that waits for the payer's second factor, when
        the payer has one."""
        try:
            return self._payment(principal, item, key)
        except PolicyRefused as refused:
            made = self._made_already(principal, item, key)
            if made is not None:
                return made
            waits = step_up and item.capture and refused.code is ErrorCode.authentication_required
            if waits and self.step_ups is not None and self.step_ups.ready(principal.party_id or ""):
                return self._payment(principal, item, key, awaiting=refused.decision)
            if refused.code is ErrorCode.authentication_required:
                raise PlatformError(
                    refused.code, f"{refused.detail}; enrol a second factor (POST /v1/factors/totp) to pay after it"
                ) from None
            raise PlatformError(refused.code, refused.detail) from None

    def _made_already(self, principal: Principal, item: PaymentItem, key: str | None) -> Payment | None:
        """With a key, the payment it made before (its counters now include it, so the policy may refuse
        the retry that should replay it)."""
        if key is None or principal.party_id is None:
            return None
        payment_id = derive_id("payment", principal.party_id, key)
        fee_id = derive_id("fee", str(payment_id))
        with self._lookups_lock:
            if self._lookups is None:
                self._lookups = self.ledger.engine.store.open_lookups()
            found = self._lookups.find_transfers([payment_id, fee_id])
        if payment_id not in found:
            return None
        cur = currency(item.currency)
        t, fee = found[payment_id], found.get(fee_id)
        status = "requires_capture" if t.flags & int(TransferFlags.pending) else "succeeded"
        return Payment(public_id_of("pay_", payment_id), principal.party_id, item.merchant, cur.format(t.amount),
                       cur.format(fee.amount if fee else 0), cur.code, item.reference, True, status)  # fmt: skip

    def pay_batch(
        self, principal: Principal, items: Sequence[PaymentItem], idempotency_key: str | None
    ) -> list[Payment | PlatformError]:
        """Many payments in one call, each applied or refused on its own; one answer per item, in order.

        An item's legs never straddle two ledger batches; the chunks are submitted together, so the
        group committer writes them in as few transactions as their size allows.
        """
        self._require(principal, "customer", "payments:write")
        if not 0 < len(items) <= limits.payments_per_batch_max:
            raise PlatformError(
                ErrorCode.batch_too_large if items else ErrorCode.batch_must_not_be_empty,
                f"a batch holds 1 to {limits.payments_per_batch_max} payments",
            )
        keyed = [(principal, item, item.idempotency_key or (f"{idempotency_key}:{i}" if idempotency_key else None))
                 for i, item in enumerate(items)]  # fmt: skip
        return self.pay_many(keyed)

    def pay_many(
        self, payments: Sequence[tuple[Principal, PaymentItem, str | None]], step_up: bool = False
    ) -> list[Payment | PlatformError]:
        """Payments of several payers at once (the simulator's hour), prepared one by one and submitted
        in chunks as they are ready, so that the ledger writes one chunk while the next is prepared;
        with `step_up`, one the policy steps up waits for its payer (as `pay` does). A payment's legs
        never straddle two chunks."""
        answers: list[Payment | PlatformError] = []
        gates: list[Gate] = []
        submitted: list[tuple[list[_Prepared], Future[list[AccountResult] | list[TransferResult]]]] = []
        chunk: list[_Prepared] = []
        size = 0
        try:
            for i, (principal, item, key) in enumerate(payments):
                try:
                    self._require(principal, "customer", "payments:write")
                    made = self._prepare(principal, item, key, step_up=step_up)
                except PlatformError as exc:
                    answers.append(exc)
                    continue
                except FarthingError as exc:
                    answers.append(PlatformError(exc.code, exc.detail))
                    continue
                if isinstance(made, Payment):
                    answers.append(made)
                    continue
                legs, payment, event, gate = made
                if gate is not None:
                    gates.append(gate)
                answers.append(payment)
                if chunk and size + len(legs) > limits.payments_chunk_events:
                    submitted.append((chunk, self._submit_chunk(chunk)))
                    chunk, size = [], 0
                chunk.append((i, legs, payment, event))
                size += len(legs)
            if chunk:
                submitted.append((chunk, self._submit_chunk(chunk)))
            for done, future in submitted:
                results, at = future.result(), 0
                for i, legs, payment, _ in done:
                    mine, at = results[at : at + len(legs)], at + len(legs)
                    try:
                        answers[i] = _settled(payment, mine)  # type: ignore[arg-type]
                    except PlatformError as exc:
                        answers[i] = exc
        finally:
            # Whatever went wrong, what was submitted is answered by the ledger before its payments stop
            # counting as in flight (a decision meanwhile would not see them), and before this call ends.
            wait([future for _, future in submitted])
            for gate in gates:
                self.policy.settled(gate)
        if step_up:
            answers = [self._waiting(a) if isinstance(a, Payment) else a for a in answers]
        return answers

    def _submit_chunk(self, chunk: list[_Prepared]) -> Future[list[AccountResult] | list[TransferResult]]:
        flat: list[Transfer] = []
        outbox: list[tuple[int, OutboxEvent]] = []
        for _, legs, _, event in chunk:
            outbox.append((len(flat), event))  # the event rides with the payment's first leg
            flat.extend(legs)
        return self.ledger.submit("transfers", flat, outbox)

    def _payment(
        self, principal: Principal, item: PaymentItem, idempotency_key: str | None, awaiting: Decision | None = None,
        waits: bool = False, stage: str | None = None,
    ) -> tuple[list[Transfer], Payment, OutboxEvent, Gate | None]:  # fmt: skip
        """The ledger legs of one payment, and the payment they make if the ledger applies them; the
        currency's policy decides first (`PolicyRefused` when it does not allow the payment). With
        `awaiting` (the policy's step-up decision) or `waits`, a hold that waits for the payer's strong
        authentication; `stage` overrides how the policy counts it (`capture`: a merchant-initiated
        payment under a mandate the payer set up, out of SCA's scope)."""
        waits = waits or awaiting is not None
        assert principal.party_id is not None
        cur = currency(item.currency)
        units = positive_units(cur, item.amount)
        self._party(item.merchant, "merchant", principal.mode)
        if not item.capture and not 0 < item.hold_s <= limits.hold_s_max:
            raise PlatformError(ErrorCode.validation_failed, f"a hold lasts 1 to {limits.hold_s_max} seconds")
        payer = self.wallet_account(principal.party_id, "customer", cur)
        payee = self.wallet_account(item.merchant, "merchant", cur)
        revenue = self.platform_account(CODE_FEE_REVENUE, cur)
        if idempotency_key is None:
            # No key, no retry to recognise: time-ordered ids append to the index and need no look-up.
            payment_id, fee_id = new_id(), new_id()
        else:
            # The same owner and key give the same ids in every process: the ledger spots the retry.
            payment_id = derive_id("payment", principal.party_id, idempotency_key)
            fee_id = derive_id("fee", str(payment_id))
        gate = None
        policy = self.policy.for_payment(cur.code, item.merchant)
        if policy is not None and waits and awaiting is None:  # decided now (its place of supply recorded)
            profile = self.profile(principal.party_id)
            evidence = _with_billing(item.evidence, profile.country)
            awaiting = self.policy.decide(policy, principal.party_id, profile, evidence, cur, units, self.clock_ms(),
                                          "capture", item.channel)  # fmt: skip
            if awaiting.outcome == "deny":
                raise PolicyRefused(ErrorCode.policy_denied, awaiting)
        if policy is not None and not waits:
            profile = self.profile(principal.party_id)
            evidence = _with_billing(item.evidence, profile.country)
            stage = stage or ("payment" if item.capture else "hold")
            gate = self.policy.gate(policy, principal.party_id, item.merchant, profile, evidence, cur, units,
                                    self.clock_ms(), payment_id, stage, item.channel)  # fmt: skip
        fee = 0 if not item.capture else gate.fee if gate is not None else share(units, self.fee_ppm, 1_000_000)
        user_data = derive_id("reference", item.reference) if item.reference else 0
        if waits and self.step_ups is not None:  # held until the payer's second factor answers
            legs = [Transfer(payment_id, payer, payee, units, cur.ledger, T_PAYMENT, flags=int(TransferFlags.pending),
                             user_data=user_data, timeout_s=self.step_ups.challenge_s)]  # fmt: skip
            fee, status, event_type = 0, "requires_authentication", "payment.requires_authentication"
        elif not item.capture:
            legs = [Transfer(payment_id, payer, payee, units, cur.ledger, T_PAYMENT, flags=int(TransferFlags.pending),
                             user_data=user_data, timeout_s=item.hold_s)]  # fmt: skip
            status, event_type = "requires_capture", "payment.requires_capture"
        else:
            # Linked from the start when legs follow (linked_chain then keeps it as it is: no copy).
            follows = bool(fee) or (gate is not None and bool(gate.added_tax or gate.legs))
            legs = [Transfer(payment_id, payer, payee, units, cur.ledger, T_PAYMENT, flags=_LINKED if follows else 0,
                             user_data=user_data)]  # fmt: skip
            if gate is not None and gate.added_tax:  # the merchant collects it, and remits it with its return
                legs.append(added_tax_leg(payment_id, payer, payee, gate.added_tax, cur))
            if fee:
                legs.append(Transfer(fee_id, payee, revenue, fee, cur.ledger, T_PLATFORM_FEE))
            status, event_type = "succeeded", "payment.succeeded"
        if gate is not None:
            legs += gate.legs
        legs = linked_chain(legs)
        decided = gate.decision if gate is not None else awaiting
        summary = decision_summary(decided, cur, item.withdrawal_waived) if decided is not None else None
        payment = Payment(
            public_id_of("pay_", payment_id), principal.party_id, item.merchant, cur.format(units), cur.format(fee),
            cur.code, item.reference, False, status, gate.guards if gate is not None else 0, summary,
        )  # fmt: skip
        return legs, payment, payment_event(payment, event_type), gate


def _with_billing(evidence: Evidence | None, country: str | None) -> Evidence:
    """The payer's evidence of where it is, with the billing country its profile holds."""
    if evidence is None:
        return Evidence(country)
    return Evidence(country, evidence.ip, evidence.phone, evidence.instrument, evidence.region)


def added_tax_leg(payment_id: int, payer: int, payee: int, amount: int, cur: Currency) -> Transfer:
    """The tax added to a payment's price, paid by the payer to the merchant beside the price (its id
    derives from the payment's, so that refunds find it)."""
    return Transfer(derive_id("added-tax", str(payment_id)), payer, payee, amount, cur.ledger, T_ADDED_TAX)


def payment_event(payment: Payment, event_type: str) -> OutboxEvent:
    """The webhook event that rides with a payment's transfer: `payment.succeeded`, `payment.canceled`…
    With the policy's decision when one was made: its version, exemption and the tax it found."""
    event_id = f"evt_{payment.id.removeprefix('pay_')}_{event_type.rpartition('.')[2]}"
    data: dict[str, object] = {
        "id": payment.id, "object": "payment", "status": event_type.rpartition(".")[2], "customer": payment.customer,
        "merchant": payment.merchant, "amount": payment.amount, "fee": payment.fee, "currency": payment.currency,
        "reference": payment.reference,
    }  # fmt: skip
    if payment.policy is not None:
        data["policy"] = payment.policy
    body = to_json({"id": event_id, "type": event_type, "data": data}).decode()  # compact, in Rust
    return OutboxEvent(event_id, event_type, payment.merchant, body)


def decision_summary(d: Decision, cur: Currency, withdrawal_waived: bool = False) -> dict[str, object]:
    """What a payment records of the policy's decision (in its event, and in the API's answers), and
    whether the payer waived its right of withdrawal. With the decision's time and its day and month in
    the policy's calendar: the payment counted there, so its refunds, withdrawal window and tax base are
    taken from them (never from when the ledger happened to commit it, a moment later)."""
    tax, after = d.tax, d.counters_after
    assert d.source is not None
    policy, ctx = d.source
    # An allowed decision's counters already name its day and month; a step-up's are worked out here.
    day, month = (after.day, after.month) if after is not None else local_day_and_month(ctx.now_ms, policy.timezone)
    return {
        "version": d.policy_version,
        "decided_ms": ctx.now_ms,
        "day": day,
        "month": month,
        "sca_exemption": d.sca_exemption,
        "tax": None
        if tax is None
        else {"place": tax.place, "kind": tax.kind, "amount": cur.format(tax.amount), "inclusive": tax.inclusive},
        "withdrawal_waived": withdrawal_waived,
    }


def _settled(payment: Payment, results: Sequence[TransferResult]) -> Payment:
    """The payment as the ledger's results make it: applied, replayed (every leg existed), or refused."""
    if results and results.count(R.ok) == len(results):  # the usual answer, checked at C speed
        return payment
    if all(r is R.exists for r in results):
        return dataclasses.replace(payment, replayed=True)
    if any(r is not R.ok for r in results):
        guarded = results[len(results) - payment.guard_legs :] if payment.guard_legs else []
        if any(r is R.exceeds_credits for r in guarded):
            raise PlatformError(
                ErrorCode.policy_denied,
                "a limit of the policy was reached by payments made meanwhile (the ledger holds it)",
            )
        raise _payment_error(list(results))
    return payment


def positive_units(cur: Currency, amount: object) -> int:
    if not isinstance(amount, str):  # a JSON number is a binary float in most clients: never money
        raise PlatformError(
            ErrorCode.amount_float_not_allowed,
            f'amounts are decimal strings such as "0.001", never JSON numbers (got {amount!r})',
        )
    units = cur.parse(amount)
    if not 0 < units <= limits.amount_max:
        raise PlatformError(
            ErrorCode.amount_invalid, f"the amount must be more than zero and at most {cur.format(limits.amount_max)}"
        )
    return units


def _payment_error(results: list[TransferResult]) -> PlatformError:
    first = next(r for r in results if r not in (R.ok, R.exists, R.linked_event_failed))
    if first is R.exceeds_credits:
        return PlatformError(ErrorCode.insufficient_funds, "the wallet does not hold enough for this payment")
    if first.name.startswith("exists_with_different"):
        return PlatformError(
            ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for a payment with other parameters"
        )
    return PlatformError(ErrorCode.payment_refused, f"the ledger refused the payment: {first.name}")


def open_platform(
    url: str | None = None,
    policy_packs: Sequence[str] = (),
    commit_wait_ms: float = 1.0,
    keys_beside: str | None = None,
    clock: Clock = system_clock,
) -> Platform:
    """The platform on the ledger at `url`: a running ledger, the platform tables, the test gateway, and
    the named policy packs, each deciding the payments in its currency (two for one currency: refused).
    `commit_wait_ms`: how long the group committer waits for more requests to join a batch (0 for a
    caller that waits for each answer before it asks again, such as the simulator). `keys_beside`: where
    a master key is made when none is configured (default: beside the SQLite file, or `farthing.*` here).
    `clock`: the one clock of the platform and its ledger (a `farthing.clock.ManualClock` in tests)."""
    from farthing.adapters.key_vault import KeyVault
    from farthing.services import policies
    from farthing.services.funding import TestGateway
    from farthing.services.ledger import open_ledger
    from farthing.services.privacy import Privacy

    by_currency: dict[str, Policy] = {}
    for pack in policy_packs:
        loaded = policies.load(pack)
        if loaded.currency in by_currency:
            raise policies.PolicyError(
                f"pack {pack!r}", f"{by_currency[loaded.currency].id!r} already decides {loaded.currency} payments"
            )
        by_currency[loaded.currency] = loaded
    try:
        guard = velocity.parse(os.environ.get("FARTHING_TOPUP_GUARD", ""))
    except ValueError as exc:
        raise PlatformError(ErrorCode.validation_failed, f"FARTHING_TOPUP_GUARD: {exc}") from None
    ledger = open_ledger(url, wait_ms=commit_wait_ms, clock=clock)
    platform = Platform(ledger, PlatformDb(ledger.engine.store), TestGateway(), clock_ms=clock, policies=by_currency)
    platform.topup_guard = guard
    try:
        path = getattr(ledger.engine.store, "path", None)
        platform.privacy = Privacy(platform, KeyVault.from_env(beside=keys_beside or path or "farthing"))
    except BaseException:
        platform.close()
        raise
    return platform


def bootstrap(platform: Platform, demo: bool) -> list[str]:
    """Lines to show the operator at start: a new operator key if there is none, and with `demo` a
    merchant and a customer with $5.00 in their wallet, their keys, and a first payment to copy."""
    lines = []
    if not platform.has_operator_key():
        _, secret = platform.issue_key("operator", None, "test")
        lines.append(f"Operator key (shown once, keep it): {secret}")
    if demo:
        operator = Principal("bootstrap", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, merchant_key = platform.create_party(operator, "merchant", "Demo Daily")
        customer, customer_key_id, customer_key = platform.create_party(operator, "customer", "Demo Reader")
        payer = Principal(customer_key_id, "customer", customer, "test", frozenset(SCOPES["customer"].split()))
        platform.top_up(payer, "5.00", "USD", "4242424242424242")
        lines += [
            f"Demo merchant {merchant}, key: {merchant_key}",
            f"Demo customer {customer} (wallet: 5.00 USD), key: {customer_key}",
        ]
    return lines
