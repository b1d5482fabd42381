"""In-memory fakes of what services stand on: each repository, and a ledger that applies the domain's
own rules (`farthing.domain.ledger`) at once, so a service's unit tests need no database and no thread."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import replace
from typing import TypeVar

from farthing.clock import Clock
from farthing.domain.allowances import Allowance
from farthing.domain.challenges import Challenge
from farthing.domain.factors import FactorView
from farthing.domain.ledger import BatchEffects, LedgerState, create_accounts
from farthing.domain.ledger_transfers import TransferRules
from farthing.domain.ledger_types import Account, AccountState, PendingInfo, Transfer
from farthing.domain.principals import Profile, StoredKey
from farthing.engine.engine import Request
from farthing.engine.store import OutboxEvent
from farthing.errors import AccountResult, TransferResult
from farthing.services.amounts import positive_money

T = TypeVar("T")


class FakeLedger:
    """`GroupCommitter`'s calls, answered at once by the domain's ledger rules in memory."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.state = LedgerState()
        self.transfers: dict[int, Transfer] = {}
        self.closed: dict[int, PendingInfo] = {}
        self.committed_ms: dict[int, int] = {}
        self.outbox: list[OutboxEvent] = []
        self.round_trips = 0
        self.on_validated: list[Callable[[Sequence[Request]], None]] = []
        self.shared = False
        """Alone on its ledger, as one server process is."""

    def submit(
        self, kind: str, events: Sequence[object], outbox: Sequence[tuple[int, OutboxEvent]] = ()
    ) -> Future[list[AccountResult] | list[TransferResult]]:
        self.round_trips += 1
        effects, now = BatchEffects(), self.clock()
        results: list[AccountResult] | list[TransferResult]
        if kind == "accounts":
            results = create_accounts(events, self.state, effects, now)  # type: ignore[arg-type]
        else:
            transfers: Sequence[Transfer] = events  # type: ignore[assignment]
            known = {t.id: self.transfers[t.id] for t in transfers if t.id in self.transfers}
            closed = {t.pending_id: self.closed[t.pending_id] for t in transfers if t.pending_id in self.closed}
            rules = TransferRules(self.state, known, closed, effects, now)
            results = rules.apply(transfers)
            self.closed.update(rules.resolved)
            for t in effects.transfers:
                self.transfers[t.id] = t
                self.committed_ms[t.id] = now
            self.outbox += [event for i, event in outbox if results[i] is TransferResult.ok]
        for hook in self.on_validated:
            hook([Request(kind, events, outbox)])  # type: ignore[arg-type]
        done: Future[list[AccountResult] | list[TransferResult]] = Future()
        done.set_result(results)
        return done

    def create_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        return self.submit("accounts", accounts).result()  # type: ignore[return-value]

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[TransferResult]:
        return self.submit("transfers", transfers).result()  # type: ignore[return-value]

    def accounts(self, ids: Sequence[int] | None = None) -> list[AccountState]:
        chosen = self.state.accounts.values() if ids is None else [self.state.accounts[i] for i in ids
                                                                   if i in self.state.accounts]  # fmt: skip
        return [replace(a) for a in chosen]

    def balances_now(self, ids: Sequence[int]) -> dict[int, AccountState]:
        return {a.id: a for a in self.accounts(ids)}

    def read_validated(self, ids: Sequence[int], read: Callable[[dict[int, AccountState]], T]) -> T:
        return read(self.balances_now(ids))

    def sums(self, ledger: int) -> tuple[int, int]:
        """(debits, credits) posted over every account of `ledger`: equal in a ledger that balances."""
        mine = [a for a in self.state.accounts.values() if a.ledger == ledger]
        return sum(a.debits_posted for a in mine), sum(a.credits_posted for a in mine)


class FakeLookups:
    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger

    def find_transfers(self, ids: Collection[int]) -> dict[int, Transfer]:
        return {i: self.ledger.transfers[i] for i in ids if i in self.ledger.transfers}

    def find_pending(self, ids: Collection[int]) -> dict[int, PendingInfo]:
        found = {i: self.ledger.state.pending[i] for i in ids if i in self.ledger.state.pending}
        return found | {i: self.ledger.closed[i] for i in ids if i in self.ledger.closed}

    def committed_at(self, ids: Collection[int]) -> dict[int, int]:
        return {i: self.ledger.committed_ms[i] for i in ids if i in self.ledger.committed_ms}

    def close(self) -> None:
        pass


class FakeStore:
    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger

    def open_lookups(self) -> FakeLookups:
        return FakeLookups(self.ledger)


class FakeKeys:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[StoredKey, bytes]] = {}
        self.reads = 0

    def add(self, key: StoredKey, digest: bytes) -> None:
        self.rows[key.id] = (key, digest)

    def get(self, key_id: str) -> StoredKey | None:
        found = self.rows.get(key_id)
        return found[0] if found else None

    def of_party(self, party_id: str | None) -> list[StoredKey]:
        keys = [k for k, _ in self.rows.values()]
        if party_id is None:
            mine = [k for k in keys if k.kind == "operator"]
        else:
            mine = [k for k in keys if k.party_id == party_id]
        return sorted(mine, key=lambda k: k.created_ms)

    def by_digest(self, digest: bytes, now_ms: int) -> StoredKey | None:
        self.reads += 1
        for key, d in self.rows.values():
            alive = key.revoked_ms is None and (key.expires_ms is None or key.expires_ms > now_ms)
            if d == digest and alive:
                return key
        return None

    def _set(self, key_id: str, **changes: object) -> None:
        key, digest = self.rows[key_id]
        self.rows[key_id] = (replace(key, **changes), digest)  # type: ignore[arg-type]

    def expire(self, key_id: str, ends_ms: int) -> None:
        key = self.rows[key_id][0]
        if key.expires_ms is None or key.expires_ms > ends_ms:
            self._set(key_id, expires_ms=ends_ms)

    def revoke(self, key_id: str, now_ms: int) -> None:
        if self.rows[key_id][0].revoked_ms is None:
            self._set(key_id, revoked_ms=now_ms)

    def touch(self, key_id: str, now_ms: int) -> None:
        self._set(key_id, last_used_ms=now_ms)

    def has_operator_key(self) -> bool:
        return any(k.kind == "operator" and k.revoked_ms is None for k, _ in self.rows.values())


class FakeParties:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, str, str, str, int, str | None, str]] = {}
        self.reads = 0

    def add(
        self, party_id: str, kind: str, name: str, mode: str, created_ms: int, country: str | None, age_band: str
    ) -> None:
        self.rows[party_id] = (party_id, kind, name, mode, created_ms, country, age_band)

    def kind_and_mode(self, party_id: str) -> tuple[str, str] | None:
        self.reads += 1
        row = self.rows.get(party_id)
        return (row[1], row[3]) if row else None

    def profile(self, party_id: str) -> Profile | None:
        self.reads += 1
        row = self.rows.get(party_id)
        return Profile(row[5], row[6]) if row else None


class FakeWallets:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], int] = {}

    def add(self, party_id: str, currency_code: str, account_id: int) -> None:
        self.rows.setdefault((party_id, currency_code), account_id)

    def of_party(self, party_id: str) -> list[tuple[str, int]]:
        return sorted((code, account) for (party, code), account in self.rows.items() if party == party_id)

    def find(self, party_id: str, currency_code: str) -> int | None:
        return self.rows.get((party_id, currency_code))

    def owners(self, account_ids: list[int]) -> dict[int, str]:
        return {account: party for (party, _), account in self.rows.items() if account in account_ids}


class FakeSecurityEvents:
    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str | None, str | None, str, bytes | None]] = []

    def append(
        self, at_ms: int, kind: str, party_id: str | None, key_id: str | None, detail: str, personal: bytes | None
    ) -> None:
        self.rows.append((at_ms, kind, party_id, key_id, detail, personal))

    def logged_since(self, party_id: str, kind: str, since_ms: int) -> bool:
        return any(r[2] == party_id and r[1] == kind and r[0] >= since_ms for r in self.rows)

    def kinds(self) -> list[str]:
        return [r[1] for r in self.rows]


class FakeTopUpAttempts:
    def __init__(self) -> None:
        self.rows: list[tuple[str, int, bool]] = []

    def record(self, party_id: str, at_ms: int, declined: bool, forget_before_ms: int) -> None:
        self.rows = [r for r in self.rows if not (r[0] == party_id and r[1] <= forget_before_ms)]
        self.rows.append((party_id, at_ms, declined))

    def since(self, party_id: str, after_ms: int) -> list[tuple[int, bool]]:
        return [(at, declined) for party, at, declined in self.rows if party == party_id and at > after_ms]

    def declined_since(self, after_ms: int, limit: int) -> list[str]:
        last: dict[str, int] = {}
        for party, at, declined in self.rows:
            if declined and at > after_ms:
                last[party] = max(at, last.get(party, at))
        return sorted(last, key=lambda p: -last[p])[:limit]

    def forget(self, party_id: str) -> None:
        self.rows = [r for r in self.rows if r[0] != party_id]


class FakeOutbox:
    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger

    def bodies(self, event_ids: list[str]) -> list[str]:
        return [e.body for e in self.ledger.outbox if e.event_id in event_ids]


class FakeChallenges:
    def __init__(self) -> None:
        self.rows: dict[str, Challenge] = {}

    def find(self, payment_id: str) -> Challenge | None:
        return self.rows.get(payment_id)

    def open(self, payment: object, webauthn_challenge: bytes, now_ms: int, expires_ms: int) -> None:
        payment_id = payment.id  # type: ignore[attr-defined]
        party_id = payment.customer  # type: ignore[attr-defined]
        self.rows.setdefault(payment_id, Challenge(payment_id, party_id, webauthn_challenge, expires_ms, 0, "pending"))

    def pending(self, payment_id: str) -> bool:
        found = self.rows.get(payment_id)
        return found is not None and found.status == "pending"

    def wrong(self, payment_id: str) -> None:
        c = self.rows[payment_id]
        self.rows[payment_id] = replace(c, attempts=c.attempts + 1)

    def close(self, payment_id: str, status: str) -> None:
        if self.rows[payment_id].status == "pending":
            self.rows[payment_id] = replace(self.rows[payment_id], status=status)


class World:
    """The money services assembled on fakes, as `farthing.bootstrap` assembles them on the database."""

    def __init__(self, clock: Clock, policies: dict[str, object] | None = None) -> None:
        from fakes_policy import FakeOverrideRows, FakeScaEpochs, FakeTaxBases

        from farthing.domain.principals import Principal
        from farthing.services.accounts import Accounts
        from farthing.services.allowances import Allowances
        from farthing.services.factors import Factors
        from farthing.services.funding import TestGateway
        from farthing.services.holds import Holds
        from farthing.services.idempotency import InFlight
        from farthing.services.keys import Keys
        from farthing.services.overrides import Overrides
        from farthing.services.parties import Parties
        from farthing.services.payment_policy import PaymentPolicy
        from farthing.services.payments.batch import Batches
        from farthing.services.payments.events import Decisions
        from farthing.services.payments.legs import PaymentLegs
        from farthing.services.payments.single import Payments
        from farthing.services.refunds import Refunds
        from farthing.services.security_log import SecurityLog
        from farthing.services.stepup import StepUps
        from farthing.services.topups import TopUps

        self.clock = clock
        self.ledger = FakeLedger(clock)
        self.events = FakeSecurityEvents()
        self.log = SecurityLog(self.events, clock, lambda subject, personal: b"sealed")
        self.key_rows, self.party_rows, self.wallet_rows = FakeKeys(), FakeParties(), FakeWallets()
        self.keys = Keys(self.key_rows, clock, self.log)
        self.parties = Parties(self.party_rows, clock, self.keys, None)
        self.accounts = Accounts(self.ledger, self.wallet_rows)  # type: ignore[arg-type]
        self.tax_bases, self.sca = FakeTaxBases(), FakeScaEpochs()
        self.overrides = Overrides(FakeOverrideRows())
        self.policy = PaymentPolicy(policies or {}, self.ledger, self.sca, self.tax_bases, self.overrides)  # type: ignore[arg-type]
        self.in_flight = InFlight()
        self.attempts = FakeTopUpAttempts()
        self.topups = TopUps(self.accounts, self.ledger, TestGateway(), self.attempts, self.log, self.in_flight,  # type: ignore[arg-type]
                             clock)  # fmt: skip
        self.decisions = Decisions(FakeOutbox(self.ledger))  # type: ignore[arg-type]
        self.challenges = FakeChallenges()
        self.holds = Holds(FakeStore(self.ledger), self.ledger, self.accounts, self.parties, self.policy,  # type: ignore[arg-type]
                           self.decisions, clock, self.challenges.pending)  # fmt: skip
        self.factor_rows = FakeFactors()
        self.factors = Factors(self.factor_rows, clock, self.log)
        self.step_ups = StepUps(self.challenges, self.holds, self.factors, None, self.policy, self.decisions,
                                self.log, clock)  # fmt: skip
        legs = PaymentLegs(self.accounts, self.parties, self.policy, clock, self.step_ups)
        self.payments = Payments(legs, self.ledger, FakeStore(self.ledger), self.in_flight, self.step_ups)  # type: ignore[arg-type]
        self.batches = Batches(self.payments)
        self.refunds = Refunds(self.holds, self.ledger, self.policy, self.decisions, self.in_flight, clock)  # type: ignore[arg-type]
        self.allowance_rows = FakeAllowances()
        self.allowances = Allowances(self.allowance_rows, clock, self.parties, self.payments)
        self.operator = Principal("key_op", "operator", None, "test", frozenset({"parties:write", "read"}))

    def customer(self, funds: str = "10.00", currency: str = "USD") -> object:
        from farthing.domain.principals import SCOPES, Principal

        party, key, _ = self.parties.create(self.operator, "customer", "C", "DE")
        payer = Principal(key, "customer", party, "test", frozenset(SCOPES["customer"].split()))
        if funds != "0":
            self.topups.top_up(payer, positive_money(funds, currency), "4242424242424242")
        return payer

    def merchant(self) -> str:
        party, _, _ = self.parties.create(self.operator, "merchant", "M", "DE")
        return party


class FakeAllowances:
    def __init__(self) -> None:
        self.rows: dict[str, Allowance] = {}

    def add(self, allowance: Allowance) -> None:
        self.rows[allowance.id] = allowance

    def get(self, allowance_id: str) -> Allowance | None:
        return self.rows.get(allowance_id)

    def of_party(self, party_id: str, limit: int) -> list[Allowance]:
        mine = [a for a in self.rows.values() if party_id in (a.customer, a.merchant)]
        return sorted(mine, key=lambda a: -a.created_ms)[:limit]

    def revoke(self, allowance_id: str, now_ms: int) -> None:
        if self.rows[allowance_id].revoked_ms is None:
            self.rows[allowance_id] = replace(self.rows[allowance_id], revoked_ms=now_ms)


class FakePersonal:
    def __init__(self) -> None:
        self.sealed: dict[tuple[str, str], bytes] = {}
        self.keys: dict[str, tuple[str, bytes]] = {}
        self.erased_subjects: set[str] = set()

    def put_fields(self, subject: str, sealed: list[tuple[str, bytes]]) -> None:
        self.sealed.update({(subject, field): value for field, value in sealed})

    def fields(self, subject: str) -> list[tuple[str, bytes]]:
        return [(field, value) for (s, field), value in self.sealed.items() if s == subject]

    def data_key(self, subject: str) -> tuple[str, bytes] | None:
        return self.keys.get(subject)

    def add_data_key(self, subject: str, master_key_id: str, sealed: bytes, created_ms: int) -> None:
        self.keys.setdefault(subject, (master_key_id, sealed))

    def data_keys(self) -> list[tuple[str, str, bytes]]:
        return [(subject, key_id, sealed) for subject, (key_id, sealed) in self.keys.items()]

    def rewrap(self, subject: str, old_master_key_id: str, master_key_id: str, sealed: bytes) -> None:
        if self.keys[subject][0] == old_master_key_id:
            self.keys[subject] = (master_key_id, sealed)

    def erased(self, subject: str) -> bool:
        return subject in self.erased_subjects


class FakeFactors:
    def __init__(self) -> None:
        self.totps: dict[str, dict[str, object]] = {}
        self.recovery: dict[tuple[str, bytes], int | None] = {}

    def add_totp(self, factor_id: str, party: str, secret: bytes, created_ms: int) -> None:
        self.totps[factor_id] = {"party": party, "secret": secret, "created": created_ms, "confirmed": None, "step": 0}

    def totp_confirmed_ms(self, factor_id: str, party: str) -> int | bool | None:
        found = self.totps.get(factor_id)
        return False if found is None or found["party"] != party else found["confirmed"]  # type: ignore[return-value]

    def confirm(self, factor_id: str, party: str, now_ms: int, recovery_digests: list[bytes]) -> None:
        self.totps[factor_id]["confirmed"] = now_ms
        self.recovery.update({(party, digest): None for digest in recovery_digests})

    def use_recovery(self, party: str, digest: bytes, now_ms: int) -> bool:
        if (party, digest) not in self.recovery or self.recovery[(party, digest)] is not None:
            return False
        self.recovery[(party, digest)] = now_ms
        return True

    def confirmed_totps(self, party: str) -> list[str]:
        return [i for i, f in self.totps.items() if f["party"] == party and f["confirmed"] is not None]

    def totp_secret(self, factor_id: str) -> tuple[bytes, int] | None:
        found = self.totps.get(factor_id)
        return (found["secret"], found["step"]) if found else None  # type: ignore[return-value]

    def take_step(self, factor_id: str, step: int) -> bool:
        if self.totps[factor_id]["step"] >= step:  # type: ignore[operator]
            return False
        self.totps[factor_id]["step"] = step
        return True

    def of_party(self, party: str) -> list[FactorView]:
        return [FactorView(i, "totp", f["created"], f["confirmed"], None)  # type: ignore[arg-type]
                for i, f in self.totps.items() if f["party"] == party]  # fmt: skip

    def has_factor(self, party: str) -> bool:
        return bool(self.confirmed_totps(party))
