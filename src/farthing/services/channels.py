"""Payment channels: open (a hold on the payer's wallet), redeem (part of the hold paid to the merchant,
the rest held again, the platform fee linked), close (the rest released).

The ledger is the truth for the money. A channel's k-th redemption posts its k-th hold, and every id
is derived from the channel and k, so a retried redemption finds its own transfers (`exists`), two
servers redeeming at once cannot both post one hold, and a row left behind by a crash is caught up
from the ledger before the next redemption. Costs: one transfer to open, two (post and fee) to
redeem and close at once, three for each redemption that leaves the channel open.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Protocol

from farthing import limits
from farthing.clock import Clock
from farthing.domain.channels import ids, rules
from farthing.domain.channels.hashchain import ChainPayment
from farthing.domain.channels.rules import Accepted, ChannelRefused, Form, Terms
from farthing.domain.channels.vouchers import Voucher
from farthing.domain.ledger_types import Transfer, TransferFlags, linked_chain
from farthing.domain.money import Currency, currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import Principal, require_scope
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id, new_id
from farthing.engine.store import ClosableLookups, Store
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import CODE_FEE_REVENUE, T_CHANNEL, T_PLATFORM_FEE, Accounts
from farthing.services.channel_model import (
    Channel,
    OpenChannel,
    Redemption,
    channel_event,
    channel_number,
    deposit_refused,
    hold_id,
)
from farthing.services.idempotency import InFlight
from farthing.services.parties import Parties
from farthing.services.payment_policy import Gate, PaymentPolicy, PolicyRefused
from farthing.services.rooms import draws_of, given_back

R = TransferResult
_PENDING, _POST, _VOID = int(TransferFlags.pending), int(TransferFlags.post_pending), int(TransferFlags.void_pending)


class ChannelRepository(Protocol):
    """Channels as the platform keeps them beside the ledger; SQL in `farthing.adapters.channels_sql`."""

    def add(self, channel: Channel) -> None:
        """Keep a new channel (nothing if it is kept)."""
        ...

    def get(self, public_id: str) -> Channel | None: ...

    def of_party(self, party_id: str, status: str | None, limit: int) -> list[Channel]:
        """The party's channels (as payer or merchant), newest first."""
        ...

    def update(self, channel: Channel) -> None:
        """Where its redemptions stand and its status; never back to fewer redemptions."""
        ...


class Channels:
    def __init__(
        self, repo: ChannelRepository, store: Store, ledger: GroupCommitter, accounts: Accounts, parties: Parties,
        policy: PaymentPolicy, in_flight: InFlight, clock: Clock, dispute_s_min: int = limits.channel_dispute_s_min,
        heard: Callable[[str, int], None] | None = None,
    ) -> None:  # fmt: skip
        """`dispute_s_min`: the shortest dispute window a channel may be opened with; `heard` is told of each
        channel a payer opens or closes (payer, when): the risk engine's churn signal."""
        self.heard = heard
        if not limits.channel_dispute_s_floor <= dispute_s_min <= limits.hold_s_max // 2:
            raise ValueError(f"the shortest dispute window is {limits.channel_dispute_s_floor} s or more, not "
                             f"{dispute_s_min}")  # fmt: skip
        self.dispute_s_min = dispute_s_min
        self.repo = repo
        self.ledger = ledger
        self.accounts = accounts
        self.parties = parties
        self.policy = policy
        self.in_flight = in_flight
        self.clock = clock
        self._lookups: ClosableLookups = store.open_lookups()
        self._lookups_lock = threading.Lock()
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def close(self) -> None:
        with self._lookups_lock:
            self._lookups.close()

    # -- open ------------------------------------------------------------------------------------

    def open(
        self, principal: Principal, cmd: OpenChannel, idempotency_key: str | None,
        draws: Callable[[int], Sequence[Transfer]] | None = None,
    ) -> Channel:  # fmt: skip
        """Lock `deposit` from the customer's wallet for the merchant until the channel expires and its
        dispute window ends (a pending transfer that the ledger releases on its own after that). `draws`:
        transfers linked to the deposit (a device's caps drawn on, from the channel's number), all or none;
        one that does not fit raises `DrawRefused` with its index."""
        if principal.kind != "customer" or "payments:write" not in principal.scopes:
            raise PlatformError(ErrorCode.forbidden, "this needs a customer key with the payments:write scope")
        assert principal.party_id is not None
        cur, deposit = cmd.deposit.currency, cmd.deposit.units
        unit = 0
        if cmd.form is Form.hashchain:
            if cmd.unit is None or cmd.unit.currency != cur:
                raise PlatformError(ErrorCode.validation_failed, "a hashchain channel takes a unit in its currency")
            unit = cmd.unit.units
        if cmd.expires_in_s <= 0:
            raise PlatformError(ErrorCode.validation_failed, "expires_in_s must be positive")
        if cmd.dispute_s < self.dispute_s_min:
            raise PlatformError(ErrorCode.validation_failed, f"dispute_s is at least {self.dispute_s_min}: the "
                                "merchant keeps that long after a close to redeem what it accepted")  # fmt: skip
        if cmd.expires_in_s + cmd.dispute_s > limits.hold_s_max:
            raise PlatformError(
                ErrorCode.validation_failed, f"expiry and dispute window together last at most {limits.hold_s_max} s"
            )
        self.parties.check(cmd.merchant, "merchant", principal.mode)
        number = derive_id("channel", principal.party_id, idempotency_key) if idempotency_key else new_id()
        now = self.clock()
        terms = Terms(number, cmd.form, deposit, now + cmd.expires_in_s * 1000, cmd.public_key, cmd.root, unit,
                      cmd.length)  # fmt: skip
        payer = self.accounts.wallet_account(principal.party_id, "customer", cur)
        payee = self.accounts.wallet_account(cmd.merchant, "merchant", cur)
        public = ids.public_channel_id(number)
        with self.in_flight.claim(principal.party_id, "channel", idempotency_key):
            existing = self._find(public)
            if existing is not None:
                if (existing.merchant, existing.deposit, existing.form, existing.currency) != (
                    cmd.merchant, deposit, cmd.form, cur.code,
                ):  # fmt: skip
                    raise PlatformError(
                        ErrorCode.idempotency_key_reused, "this Idempotency-Key opened a channel with other terms"
                    )
                return dataclasses.replace(existing, replayed=True)
            gate = self._gate(principal.party_id, cmd.merchant, cur, deposit, number, "hold")
            try:  # from the gate on: whatever happens, the deposit stops counting as in flight
                legs = [Transfer(number, payer, payee, deposit, cur.ledger, T_CHANNEL, flags=_PENDING,
                                 timeout_s=cmd.expires_in_s + cmd.dispute_s)]  # fmt: skip
                extra = list(draws(number)) if draws is not None else []
                legs = linked_chain(legs + (gate.legs if gate else []) + extra)
                channel = Channel(public, principal.party_id, cmd.merchant, cur.code, cmd.form, deposit,
                                  terms.expires_ms, cmd.dispute_s * 1000, cmd.public_key, cmd.root, unit, cmd.length,
                                  now, "open", None, 0, 0, 0, b"")  # fmt: skip
                results = self.ledger.submit(
                    "transfers", legs, [(0, channel_event(channel, "channel.opened", cur))]
                ).result()
            finally:
                if gate is not None:
                    self.policy.settled(gate)
            if any(r not in (R.ok, R.exists) for r in results):
                raise deposit_refused(results, len(extra))  # type: ignore[arg-type]
            self.repo.add(channel)
        if self.heard is not None:
            self.heard(principal.party_id, now)
        return channel

    # -- read ------------------------------------------------------------------------------------

    def get(self, principal: Principal, public_id: str) -> Channel:
        """A channel of the caller's (its payer's or its merchant's), caught up with the ledger."""
        found = self._find(public_id)
        if found is None or principal.party_id not in (found.customer, found.merchant):
            raise PlatformError(ErrorCode.not_found, f"no channel {public_id!r}")
        return self._caught_up(found)

    def list(self, principal: Principal, status: str | None = None) -> list[Channel]:
        """The caller's channels, newest first (at most a page)."""
        if principal.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "an operator key has no channels")
        return self.repo.of_party(principal.party_id, status, limits.page_size_max)

    def _find(self, public_id: str) -> Channel | None:
        channel_number(public_id)
        return self.repo.get(public_id)

    def _caught_up(self, ch: Channel) -> Channel:
        """The row brought up to what the ledger holds (it lags only when a crash came between the two)."""
        if ch.status == "closed":
            return ch
        k, redeemed, sequence, status = ch.redemptions, ch.redeemed, ch.redeemed_sequence, ch.status
        number = ch.number
        while True:
            post, void = derive_id("channel-post", str(number), str(k)), derive_id("channel-void", str(number), str(k))
            with self._lookups_lock:
                found = self._lookups.find_transfers([post, void, hold_id(number, k + 1)])
            if void in found:
                status = "closed"
                break
            if post not in found:
                break
            redeemed += found[post].amount
            sequence, k = found[post].user_data, k + 1
            if hold_id(number, k) not in found:
                status = "closed"
                break
        if (k, status) == (ch.redemptions, ch.status):
            return ch
        proof = ch.redeemed_proof if k == ch.redemptions else b""  # a chain's element is not in the ledger
        return self._store(dataclasses.replace(ch, redemptions=k, redeemed=redeemed, redeemed_sequence=sequence,
                                               redeemed_proof=proof, status=status))  # fmt: skip

    def _store(self, ch: Channel) -> Channel:
        self.repo.update(ch)
        return ch

    # -- redeem and close ------------------------------------------------------------------------

    def redeem(
        self, principal: Principal, public_id: str, payment: Voucher | ChainPayment | None, close: bool = False
    ) -> Redemption:
        """The merchant turns the highest payment it accepted into money: the hold pays what the payment
        adds to what was redeemed, the fee is taken on that, and the rest stays held (or, with `close`,
        is released to the payer). A retry of the same redemption answers the same."""
        with self._locks[public_id]:
            ch = self.get(principal, public_id)
            if principal.party_id != ch.merchant:
                raise PlatformError(ErrorCode.forbidden, "only the channel's merchant redeems it")
            require_scope(principal, "payments:write")
            if payment is None:
                if not close:
                    raise PlatformError(ErrorCode.validation_failed, "send a voucher or a chain element, or close")
                return Redemption(self._release(ch), 0, 0, ch.status == "closed")
            if ch.status == "closed":
                if _same(ch, payment):
                    return Redemption(ch, 0, 0, True)
                raise PlatformError(ErrorCode.channel_closed, "the channel is closed; it accepts nothing more")
            now = self.clock()
            try:
                accepted = self._accept(ch, payment, now)
            except ChannelRefused as refused:
                if refused.code is ErrorCode.voucher_stale and _same(ch, payment):
                    return Redemption(self._release(ch) if close else ch, 0, 0, True)
                raise PlatformError(refused.code, refused.detail) from None
            return self._post(ch, accepted, now, close)

    def _accept(self, ch: Channel, payment: Voucher | ChainPayment, now: int) -> Accepted:
        terms, until = ch.terms, ch.redeem_until_ms
        if ch.form is Form.hashchain and ch.redeemed and not ch.redeemed_proof:
            # Caught up from the ledger after a crash, which keeps no chain element: check from the root.
            accepted = rules.accept(terms, rules.opening(terms), payment, now, until_ms=until)
            if accepted.sequence <= ch.redeemed_sequence:
                raise ChannelRefused(ErrorCode.voucher_stale, "a payment as high or higher was redeemed already")
            return accepted
        return rules.accept(terms, ch.last, payment, now, until_ms=until)

    def _post(self, ch: Channel, accepted: Accepted, now: int, close: bool) -> Redemption:
        cur = currency(ch.currency)
        k, number = ch.redemptions, ch.number
        amount = accepted.amount - ch.redeemed
        rest = ch.deposit - accepted.amount
        payer = self.accounts.wallet_account(ch.customer, "customer", cur)
        payee = self.accounts.wallet_account(ch.merchant, "merchant", cur)
        hold_end_ms = ch.expires_ms + ch.dispute_ms
        legs = [Transfer(derive_id("channel-post", str(number), str(k)), payer, payee, amount, cur.ledger, T_CHANNEL,
                         flags=_POST, pending_id=hold_id(number, k), user_data=accepted.sequence)]  # fmt: skip
        if rest and not close:
            timeout_s = -(-(hold_end_ms - now) // 1000)
            legs.append(Transfer(hold_id(number, k + 1), payer, payee, rest, cur.ledger, T_CHANNEL, flags=_PENDING,
                                 timeout_s=max(timeout_s, 1)))  # fmt: skip
        gate = self._gate(ch.customer, ch.merchant, cur, amount, legs[0].id, "capture")
        fee = gate.fee if gate is not None else self.policy.fee_for(cur, amount)
        try:  # from the gate on: whatever happens, the redemption stops counting as in flight
            if fee:
                revenue = self.accounts.platform_account(CODE_FEE_REVENUE, cur, self.parties.mode_of(ch.merchant))
                fee_id = derive_id("channel-fee", str(number), str(k))
                legs.append(Transfer(fee_id, payee, revenue, fee, cur.ledger, T_PLATFORM_FEE))
            closed = close or not rest
            legs = linked_chain(legs + (gate.legs if gate else []) + (self._given_back(number, rest) if closed else []))
            proof = accepted.proof if ch.form is Form.hashchain else b""
            status = "closed" if closed else ch.status
            after = dataclasses.replace(ch, redemptions=k + 1, redeemed=accepted.amount, redeemed_proof=proof,
                                        redeemed_sequence=accepted.sequence, status=status)  # fmt: skip
            event = channel_event(after, "channel.redeemed", cur, amount=cur.format(amount), fee=cur.format(fee))
            results = self.ledger.submit("transfers", legs, [(0, event)]).result()
        finally:
            if gate is not None:
                self.policy.settled(gate)
        replayed = all(r is R.exists for r in results)
        if not replayed and any(r is not R.ok for r in results):
            raise self._refusal(ch, results, gate)
        return Redemption(self._store(after), amount, fee, replayed)

    def _refusal(self, ch: Channel, results: list[TransferResult], gate: Gate | None) -> PlatformError:
        first = next(r for r in results if r not in (R.ok, R.exists, R.linked_event_failed))
        if gate is not None and gate.guards and first is R.exceeds_credits:
            return PlatformError(ErrorCode.policy_denied, "redeeming this would pass a limit of the payer's policy")
        if first is R.pending_transfer_expired:
            self._store(dataclasses.replace(ch, status="closed"))
            return PlatformError(ErrorCode.channel_expired, "the channel's deposit was released: its time is over")
        if first in (R.pending_transfer_already_posted, R.pending_transfer_already_voided):
            return PlatformError(ErrorCode.voucher_stale, "the channel was redeemed or closed meanwhile; read it again")
        return PlatformError(ErrorCode.payment_refused, f"the ledger refused the redemption: {first.name}")

    def _release(self, ch: Channel) -> Channel:
        """Void the current hold: what was not redeemed goes back to the payer."""
        if ch.status == "closed":
            return ch
        cur, number = currency(ch.currency), ch.number
        payer = self.accounts.wallet_account(ch.customer, "customer", cur)
        payee = self.accounts.wallet_account(ch.merchant, "merchant", cur)
        k = ch.redemptions
        void = Transfer(derive_id("channel-void", str(number), str(k)), payer, payee, ch.deposit - ch.redeemed,
                        cur.ledger, T_CHANNEL, flags=_VOID, pending_id=hold_id(number, k))  # fmt: skip
        after = dataclasses.replace(ch, status="closed")
        event = channel_event(after, "channel.closed", cur)
        back = self._given_back(number, void.amount)
        results = self.ledger.submit("transfers", linked_chain([void, *back]), [(0, event)]).result()
        result = next((r for r in results if r not in (R.ok, R.exists, R.linked_event_failed)), results[0])
        if result is R.pending_transfer_expired and back:  # the ledger released the deposit itself
            self.ledger.submit("transfers", back, []).result()
        if result not in (R.ok, R.exists, R.pending_transfer_expired):
            raise PlatformError(ErrorCode.payment_refused, f"the ledger refused to release the deposit: {result.name}")
        return self._store(after)

    def _given_back(self, number: int, rest: int) -> list[Transfer]:
        """What a device's channel did not pay, given back to the caps its deposit was drawn on (none for
        a channel no device opened)."""
        if rest <= 0:
            return []
        with self._lookups_lock:
            drawn = self._lookups.find_transfers(draws_of(number))
        return given_back(list(drawn.values()), rest)

    def close_channel(self, principal: Principal, public_id: str) -> Channel:
        """The payer asks to close: the merchant has the dispute window to redeem what it was paid, then
        (on the payer's next close, at the server's next look at what is due, or when the hold times out) the
        rest comes back. The merchant closes at once: whatever it did not redeem goes back to the payer now."""
        with self._locks[public_id]:
            ch = self.get(principal, public_id)
            if ch.status == "closed":
                return dataclasses.replace(ch, replayed=True)
            now = self.clock()
            if self.heard is not None and principal.party_id == ch.customer and ch.status == "open":
                self.heard(ch.customer, now)
            if principal.party_id == ch.merchant or (ch.settle_after_ms is not None and now >= ch.settle_after_ms):
                return self._release(ch)
            if now >= ch.expires_ms + ch.dispute_ms:
                return self._release(ch)
            if ch.status == "closing":
                return dataclasses.replace(ch, replayed=True)
            settle = min(now, ch.expires_ms) + ch.dispute_ms
            return self._store(dataclasses.replace(ch, status="closing", settle_after_ms=settle))

    def settle_due(self, limit: int = 1_000) -> int:
        """Close the channels past their deadline (the hold ran out in the ledger, or a payer's close waited
        out the merchant's dispute window): what was not redeemed goes back to the payer, if the ledger has
        not released it already, and a device's unpaid part to its caps. How many were closed."""
        closed = 0
        for due in self.repo.due_before(self.clock(), None, limit):
            with self._locks[due.id]:
                ch = self._caught_up(due)
                if ch.status != "closed":
                    self._release(ch)
                    closed += 1
        return closed

    def _gate(self, payer: str, merchant: str, cur: Currency, units: int, transfer_id: int, stage: str) -> Gate | None:
        """The currency's policy on a deposit (decided as a hold) or a redemption (counted as a capture)."""
        policy = self.policy.for_payment(cur.code, merchant)
        if policy is None:
            return None
        profile = self.parties.profile(payer)
        evidence = (
            Evidence(billing=profile.country, ip=profile.country)
            if stage == "capture"
            else Evidence(billing=profile.country)
        )
        try:
            return self.policy.gate(policy, payer, merchant, profile, evidence, cur, units,
                                             self.clock(), transfer_id, stage)  # fmt: skip
        except PolicyRefused as refused:
            raise PlatformError(refused.code, refused.detail) from None


def _same(ch: Channel, payment: Voucher | ChainPayment) -> bool:
    """The payment is the one redeemed last (a retry)."""
    if isinstance(payment, Voucher):
        return payment.sequence == ch.redeemed_sequence and payment.cumulative == ch.redeemed
    return payment.index == ch.redeemed_sequence and payment.index * ch.unit == ch.redeemed
