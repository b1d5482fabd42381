"""Payment channels on fakes: a deposit held once, vouchers redeemed in steps with the fee on what each
adds, a retry answered the same, the payer's close leaving the merchant its dispute window, and a row
that lags the ledger (a crash between the two) caught up on the next read."""

from __future__ import annotations

import dataclasses

import pytest
from fakes import FakeStore, World
from fakes_delivery import FakeChannelRows
from nacl.signing import SigningKey

from farthing.clock import ManualClock
from farthing.domain.channels import vouchers
from farthing.domain.channels.rules import Form
from farthing.domain.money import currency
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.channel_model import OpenChannel
from farthing.services.channels import Channels

USD = currency("USD")
KEY = SigningKey(b"\x22" * 32)
HOUR = 3600


def _channels() -> tuple[World, Channels, FakeChannelRows, Principal, Principal]:
    w = World(ManualClock(1_800_000_000_000))
    payer, merchant = w.customer("5.00"), w.merchant()
    rows = FakeChannelRows()
    channels = Channels(rows, FakeStore(w.ledger), w.ledger, w.accounts, w.parties, w.policy, w.in_flight,  # type: ignore[arg-type]
                        w.clock)  # fmt: skip
    assert isinstance(payer, Principal)
    return w, channels, rows, payer, Principal("key_m", "merchant", merchant, "test", MERCHANT_SCOPES)


def _available(w: World, who: Principal) -> int:
    [state] = w.ledger.accounts([w.accounts.wallet_account(who.party_id or "", who.kind, USD)])
    dp, dpo, _, cpo = state.balances()
    return cpo - dpo - dp


def test_vouchers_redeemed_in_steps_pay_what_each_adds_and_a_retry_answers_the_same() -> None:
    w, channels, _, payer, merchant = _channels()
    cmd = OpenChannel.of(merchant.party_id or "", "USD", "1.00", Form.voucher, HOUR, HOUR, bytes(KEY.verify_key))
    ch = channels.open(payer, cmd, "open-1")
    assert channels.open(payer, cmd, "open-1").replayed and _available(w, payer) == USD.parse("4.00")
    first = channels.redeem(merchant, ch.id, vouchers.sign(KEY, ch.number, USD.parse("0.30"), 30))
    second = channels.redeem(merchant, ch.id, vouchers.sign(KEY, ch.number, USD.parse("0.50"), 50))
    assert (first.amount, second.amount) == (USD.parse("0.30"), USD.parse("0.20"))
    again = channels.redeem(merchant, ch.id, vouchers.sign(KEY, ch.number, USD.parse("0.50"), 50))
    assert again.replayed and again.amount == 0
    with pytest.raises(PlatformError) as stale:
        channels.redeem(merchant, ch.id, vouchers.sign(KEY, ch.number, USD.parse("0.40"), 40))
    assert stale.value.code is ErrorCode.voucher_stale
    done = channels.redeem(merchant, ch.id, None, close=True)
    assert done.channel.status == "closed" and _available(w, payer) == USD.parse("4.50")
    assert _available(w, merchant) == USD.parse("0.50") - first.fee - second.fee
    debits, credits = w.ledger.sums(USD.ledger)
    assert debits == credits


def test_the_payers_close_leaves_the_merchant_its_dispute_window() -> None:
    w, channels, _, payer, merchant = _channels()
    cmd = OpenChannel.of(merchant.party_id or "", "USD", "1.00", Form.voucher, HOUR, HOUR, bytes(KEY.verify_key))
    ch = channels.open(payer, cmd, None)
    voucher = vouchers.sign(KEY, ch.number, USD.parse("0.25"), 1)
    closing = channels.close_channel(payer, ch.id)
    assert closing.status == "closing" and closing.settle_after_ms == w.clock() + HOUR * 1000
    assert channels.redeem(merchant, ch.id, voucher).amount == USD.parse("0.25")  # within the window
    w.clock.advance(HOUR * 1000)
    assert channels.close_channel(payer, ch.id).status == "closed"
    assert _available(w, payer) == USD.parse("4.75")
    assert [c.id for c in channels.list(payer, "closed")] == [ch.id] and channels.list(merchant, "open") == []
    with pytest.raises(PlatformError) as theirs:
        channels.get(Principal("k", "merchant", "mer_other", "test", MERCHANT_SCOPES), ch.id)
    assert theirs.value.code is ErrorCode.not_found


def test_a_row_that_lags_the_ledger_is_caught_up_when_read() -> None:
    _, channels, rows, payer, merchant = _channels()
    cmd = OpenChannel.of(merchant.party_id or "", "USD", "1.00", Form.voucher, HOUR, HOUR, bytes(KEY.verify_key))
    ch = channels.open(payer, cmd, None)
    channels.redeem(merchant, ch.id, vouchers.sign(KEY, ch.number, USD.parse("0.10"), 10))
    rows.rows[ch.id] = dataclasses.replace(rows.rows[ch.id], redemptions=0, redeemed=0, redeemed_sequence=0)
    seen = channels.get(payer, ch.id)
    assert (seen.redemptions, seen.redeemed, seen.redeemed_sequence) == (1, USD.parse("0.10"), 10)
    assert rows.rows[ch.id].redemptions == 1
