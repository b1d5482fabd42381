"""Payment channels on a real ledger: a deposit held once, many payments off-ledger, one redemption.

Each test runs on SQLite and PostgreSQL. Balances are read from the ledger itself; the audit re-hashes
the journal and replays every transfer at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from nacl.signing import SigningKey

from conftest import mid_month_clock
from farthing.bootstrap import Platform, open_platform
from farthing.clock import ManualClock
from farthing.domain.channels import hashchain, vouchers
from farthing.domain.channels.hashchain import ChainPayment
from farthing.domain.channels.rules import Form
from farthing.domain.money import currency
from farthing.domain.principals import MERCHANT_SCOPES, SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services import audit
from farthing.services.amounts import positive_money
from farthing.services.channel_model import OpenChannel, channel_number
from farthing.services.channels import Channels

USD = currency("USD")
T0 = 1_797_166_800_000  # 2026-12-14T12:00:00Z: the clock the world starts at


@dataclass
class World:
    platform: Platform
    channels: Channels
    payer: Principal
    merchant: Principal
    other_merchant: Principal
    clock: ManualClock

    def available(self, who: Principal) -> int:
        wallet = self.platform.accounts.wallet_account(who.party_id or "", who.kind, USD)
        [state] = self.platform.ledger.accounts([wallet])
        dp, dpo, _, cpo = state.balances()
        return cpo - dpo - dp

    def fees(self) -> int:
        from farthing.services.accounts import CODE_FEE_REVENUE

        [state] = self.platform.ledger.accounts(
            [self.platform.accounts.platform_account(CODE_FEE_REVENUE, USD, "test")]
        )
        return state.balances()[3]


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    clock = ManualClock(T0)
    platform = open_platform(store_url, clock=clock)
    channels = platform.channels
    operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    parties = []
    for kind in ("customer", "merchant", "merchant"):
        party, key, _ = platform.parties.create(operator, kind, kind.title())
        parties.append(Principal(key, kind, party, "test", frozenset(SCOPES[kind].split())))
    platform.topups.top_up(parties[0], positive_money("10.00", "USD"), "4242424242424242")
    try:
        yield World(platform, channels, *parties, clock)
    finally:
        platform.close()


KEY = SigningKey(b"\x11" * 32)


def open_voucher_channel(w: World, deposit: str = "1.00", key: str | None = None) -> str:
    cmd = OpenChannel.of(w.merchant.party_id or "", "USD", deposit, Form.voucher, 3600, 3600, bytes(KEY.verify_key))
    return w.channels.open(w.payer, cmd, key).id


def test_a_thousand_vouchers_redeemed_once_pay_the_merchant_to_the_micro_unit(world: World) -> None:
    w, start = world, world.available(world.payer)
    ch = open_voucher_channel(w)
    assert w.available(w.payer) == start - 1_000_000  # the deposit is held, not paid
    number = channel_number(ch)
    last = None
    for i in range(1, 1001):  # 1,000 articles at $0.0002, paid off-ledger
        last = vouchers.sign(KEY, number, i * 200, i)
    assert last is not None
    done = w.channels.redeem(w.merchant, ch, last, close=True)
    assert (done.amount, done.channel.status, done.replayed) == (200_000, "closed", False)
    assert w.available(w.payer) == start - 200_000
    assert w.available(w.merchant) == 200_000 - done.fee and done.fee == 4_000  # 2 % platform fee
    assert w.fees() == 4_000
    again = w.channels.redeem(w.merchant, ch, last, close=True)  # redeem twice: a replay, nothing moves
    assert again.replayed and w.available(w.merchant) == 200_000 - 4_000
    assert audit.verify(w.platform.ledger.engine.store).ok


def test_partial_redemptions_hold_the_rest_and_close_releases_it(world: World) -> None:
    w, start = world, world.available(world.payer)
    ch = open_voucher_channel(w)
    n = channel_number(ch)
    first = w.channels.redeem(w.merchant, ch, vouchers.sign(KEY, n, 300_000, 3))
    assert (first.amount, first.channel.status, first.channel.redeemed) == (300_000, "open", 300_000)
    assert w.available(w.payer) == start - 1_000_000  # 0.30 paid, 0.70 still held
    for stale, code in (
        (vouchers.sign(KEY, n, 300_000, 3), None),  # the same voucher: a replay
        (vouchers.sign(KEY, n, 250_000, 4), ErrorCode.voucher_stale),
        (vouchers.sign(KEY, n, 1_000_001, 9), ErrorCode.voucher_exceeds_deposit),
        (vouchers.sign(SigningKey(b"\x12" * 32), n, 400_000, 4), ErrorCode.voucher_signature_invalid),
        (vouchers.sign(KEY, n + 1, 400_000, 4), ErrorCode.channel_mismatch),
    ):
        if code is None:
            assert w.channels.redeem(w.merchant, ch, stale).replayed
            continue
        with pytest.raises(PlatformError) as refused:
            w.channels.redeem(w.merchant, ch, stale)
        assert refused.value.code is code
    second = w.channels.redeem(w.merchant, ch, vouchers.sign(KEY, n, 450_000, 5))
    assert second.amount == 150_000
    closed = w.channels.close_channel(w.merchant, ch)
    assert closed.status == "closed"
    assert w.available(w.payer) == start - 450_000
    with pytest.raises(PlatformError) as after_close:
        w.channels.redeem(w.merchant, ch, vouchers.sign(KEY, n, 500_000, 6))
    assert after_close.value.code is ErrorCode.channel_closed
    assert audit.verify(w.platform.ledger.engine.store).ok


def test_a_hash_chain_channel_pays_per_element(world: World) -> None:
    w, start = world, world.available(world.payer)
    chain = hashchain.chain(b"\x21" * 32, 5_000)
    cmd = OpenChannel.of(w.merchant.party_id or "", "USD", "1.00", Form.hashchain, 3600, 3600, root=chain[0],
                      unit="0.0002", length=5_000)  # fmt: skip
    ch = w.channels.open(w.payer, cmd, "chain-1").id
    n = channel_number(ch)
    assert w.channels.redeem(w.merchant, ch, ChainPayment(n, 1_000, chain[1_000])).amount == 200_000
    other = hashchain.chain(b"\x22" * 32, 5_000)
    with pytest.raises(PlatformError) as forged:
        w.channels.redeem(w.merchant, ch, ChainPayment(n, 1_500, other[1_500]))
    assert forged.value.code is ErrorCode.chain_element_invalid
    done = w.channels.redeem(w.merchant, ch, ChainPayment(n, 1_500, chain[1_500]), close=True)
    assert done.amount == 100_000 and done.channel.status == "closed"
    assert w.available(w.payer) == start - 300_000
    assert audit.verify(w.platform.ledger.engine.store).ok


def test_the_row_left_behind_by_a_crash_is_caught_up_from_the_ledger(world: World) -> None:
    """The redemption committed in the ledger, the channel's row was not updated (a crash between the
    two): the next read and the next redemption follow the ledger, and nothing is paid twice."""
    w = world
    chain = hashchain.chain(b"\x23" * 32, 100)
    cmd = OpenChannel.of(w.merchant.party_id or "", "USD", "0.01", Form.hashchain, 3600, 3600, root=chain[0],
                      unit="0.0001", length=100)  # fmt: skip
    ch = w.channels.open(w.payer, cmd, None).id
    n = channel_number(ch)
    w.channels.redeem(w.merchant, ch, ChainPayment(n, 40, chain[40]))
    w.platform.db.query(  # roll the row back, as if its update was lost
        "UPDATE channels SET redemptions = 0, redeemed = '0', redeemed_sequence = 0, redeemed_proof = NULL "
        "WHERE id = ?",
        (ch,),
    )
    caught = w.channels.get(w.merchant, ch)
    assert (caught.redemptions, caught.redeemed, caught.redeemed_sequence) == (1, 4_000, 40)
    with pytest.raises(PlatformError) as stale:
        w.channels.redeem(w.merchant, ch, ChainPayment(n, 30, chain[30]))
    assert stale.value.code is ErrorCode.voucher_stale
    assert w.channels.redeem(w.merchant, ch, ChainPayment(n, 70, chain[70])).amount == 3_000
    assert w.available(w.merchant) == 7_000 - 140  # the fee, 2 % of each redemption


def test_only_the_merchant_redeems_and_others_do_not_see_the_channel(world: World) -> None:
    w = world
    ch = open_voucher_channel(w)
    v = vouchers.sign(KEY, channel_number(ch), 100, 1)
    with pytest.raises(PlatformError) as payer:
        w.channels.redeem(w.payer, ch, v)
    assert payer.value.code is ErrorCode.forbidden
    with pytest.raises(PlatformError) as other:
        w.channels.redeem(w.other_merchant, ch, v)
    assert other.value.code is ErrorCode.not_found
    # The channel's hold is not a payment: it cannot be captured around the channel's rules.
    with pytest.raises(PlatformError) as capture:
        w.platform.holds.capture(w.merchant, "pay_" + ch.removeprefix("ch_"), None)
    assert capture.value.code is ErrorCode.not_found


def test_opening_is_idempotent_and_refuses_what_the_wallet_cannot_hold(world: World) -> None:
    w = world
    first = open_voucher_channel(w, "1.00", "k1")
    again = w.channels.open(w.payer, OpenChannel.of(w.merchant.party_id or "", "USD", "1.00", Form.voucher, 3600, 3600,
                                                 bytes(KEY.verify_key)), "k1")  # fmt: skip
    assert again.id == first and again.replayed
    with pytest.raises(PlatformError) as other_terms:
        open_voucher_channel(w, "2.00", "k1")
    assert other_terms.value.code is ErrorCode.idempotency_key_reused
    held = w.available(w.payer)
    with pytest.raises(PlatformError) as poor:
        open_voucher_channel(w, "100.00")
    assert poor.value.code is ErrorCode.insufficient_funds and w.available(w.payer) == held


@pytest.mark.any_date
def test_the_payer_closes_and_the_merchant_keeps_its_dispute_window(world: World) -> None:
    w = world
    start = w.available(w.payer)
    ch = open_voucher_channel(w)
    n = channel_number(ch)
    closing = w.channels.close_channel(w.payer, ch)
    assert closing.status == "closing" and closing.settle_after_ms == w.clock() + 3_600_000
    w.clock.advance(1_800_000)  # within the window: the merchant redeems what it served
    assert w.channels.redeem(w.merchant, ch, vouchers.sign(KEY, n, 250_000, 1)).amount == 250_000
    w.clock.advance(1_800_001)  # the window is over: nothing more is redeemed, and the payer gets the rest
    with pytest.raises(PlatformError) as late:
        w.channels.redeem(w.merchant, ch, vouchers.sign(KEY, n, 260_000, 2))
    assert late.value.code is ErrorCode.channel_expired
    assert w.channels.close_channel(w.payer, ch).status == "closed"
    assert w.available(w.payer) == start - 250_000


@pytest.mark.any_date
def test_under_a_policy_the_deposit_is_decided_and_what_is_redeemed_counts_toward_the_cap(store_url: str) -> None:
    """Korea's monthly cap (1,000,000 KRW): a deposit past it is refused when the channel opens; what a
    merchant redeems counts toward the month, so a payment past the cap afterwards is refused."""
    from farthing.services.payments.model import PaymentItem

    platform = open_platform(store_url, ["kr"], clock=mid_month_clock())
    channels = platform.channels
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        m, mk, _ = platform.parties.create(operator, "merchant", "Webtoons", "KR")
        c, ck, _ = platform.parties.create(operator, "customer", "Reader", "KR")
        merchant = Principal(mk, "merchant", m, "test", MERCHANT_SCOPES)
        payer = Principal(ck, "customer", c, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("2000000", "KRW"), "4242424242424242")
        key = SigningKey(b"\x51" * 32)

        def terms(deposit: str) -> OpenChannel:
            return OpenChannel.of(m, "KRW", deposit, Form.voucher, 3600, 3600, bytes(key.verify_key))

        with pytest.raises(PlatformError) as over:
            channels.open(payer, terms("1500000"), None)
        assert over.value.code is ErrorCode.policy_denied and "limit of 1000000" in over.value.detail
        ch = channels.open(payer, terms("900000"), None).id
        krw = currency("KRW")
        paid = vouchers.sign(key, channel_number(ch), krw.parse("800000"), 1)
        assert channels.redeem(merchant, ch, paid, close=True).amount == krw.parse("800000")
        with pytest.raises(PlatformError) as capped:  # 800,000 + 300,000 > 1,000,000 this month
            platform.payments.pay(payer, PaymentItem.of(m, "300000", "KRW"), None)
        assert capped.value.code is ErrorCode.policy_denied
        assert platform.payments.pay(payer, PaymentItem.of(m, "150000", "KRW"), None).status == "succeeded"
    finally:
        platform.close()


def test_a_merchant_is_told_once_of_a_channel_near_its_deadline(world: World) -> None:
    w = world
    soon = open_voucher_channel(w)  # an hour's window and an hour's dispute time: its deadline is T0 + 2 h
    later = w.channels.open(w.payer, OpenChannel.of(w.merchant.party_id or "", "USD", "1.00", Form.voucher, 5 * 86_400,
                                                    3600, bytes(KEY.verify_key)), None).id  # fmt: skip
    deadlines = w.platform.channel_deadlines
    assert [c.id for c in deadlines.near(w.merchant)] == [soon]  # within a day; the other one is days away
    assert deadlines.near(w.other_merchant) == []
    assert deadlines.warn() == 1 and deadlines.warn() == 0  # told once, whoever looks again
    rows = w.platform.db.query("SELECT type, body FROM outbox WHERE type = 'channel.expiring'")
    assert len(rows) == 1 and soon in rows[0][1] and '"deadline_ms":' in rows[0][1]
    w.clock.advance(3 * 3_600_000)  # past its deadline: nothing left to save, nothing listed
    assert deadlines.near(w.merchant) == [] and deadlines.warn() == 0
    w.clock.advance(5 * 86_400_000 - 86_400_000)  # the other one comes within a day
    assert [c.id for c in deadlines.near(w.merchant)] == [later] and deadlines.warn() == 1
    with pytest.raises(PlatformError):
        deadlines.near(w.payer)


def test_the_dashboard_lists_channels_near_their_deadline(world: World) -> None:
    from starlette.datastructures import QueryParams

    from farthing.web.dashboard import _shown
    from farthing.web.locale import translate
    from farthing.web.render import ENV

    soon = open_voucher_channel(world)
    shown = _shown(world.platform, world.merchant, "ko", QueryParams())
    assert [c["id"] for c in shown["expiring"]] == [soon] and shown["expiring"][0]["deposit"] == "US$1.00"
    context = {"user": None, "csrf": "x", "once": "y", "scopes": [], "platform_url": "", "languages": [], **shown}
    html = ENV.get_template("dashboard.html").render(lang="ko", _=lambda text: translate("ko", text), **context)
    assert "기한이 가까운 채널" in html and soon in html


def test_channels_past_their_deadline_are_closed_without_being_asked(world: World) -> None:
    """The server's periodic look closes what is due: a channel the payer asked to close, once the merchant's
    dispute window is over (the payer's money back without asking again), and one whose hold ran out."""
    w = world
    start = w.available(w.payer)
    closing, lapsed = open_voucher_channel(w, "1.00"), open_voucher_channel(w, "2.00")
    w.channels.redeem(w.merchant, closing, vouchers.sign(KEY, channel_number(closing), 250_000, 1))
    w.channels.close_channel(w.payer, closing)
    assert w.channels.settle_due() == 0  # nothing is due yet
    w.clock.advance(3_600_001)  # the dispute window after the close is over
    assert w.channels.settle_due() == 1
    assert w.channels.get(w.payer, closing).status == "closed"
    assert w.available(w.payer) == start - 250_000 - 2_000_000  # the rest of the first back; the second held
    w.clock.advance(3_600_000)  # the second's hour and its dispute window are over: the ledger let it go
    assert w.channels.settle_due() == 1 and w.channels.settle_due() == 0
    assert w.channels.get(w.payer, lapsed).status == "closed"
    assert w.available(w.payer) == start - 250_000
