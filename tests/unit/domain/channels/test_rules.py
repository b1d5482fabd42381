"""The channel rule: what a merchant's verifier and the platform's redemption accept, and what not."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from farthing.domain.channels import hashchain, vouchers
from farthing.domain.channels.hashchain import ChainPayment
from farthing.domain.channels.rules import Accepted, ChannelRefused, Form, Terms, accept, opening
from farthing.errors import ErrorCode

KEY = SigningKey(b"\x07" * 32)
CHAIN = hashchain.chain(b"\x09" * 32, 50)
EXPIRES = 1_000_000


def voucher_terms(deposit: int = 1_000) -> Terms:
    return Terms(11, Form.voucher, deposit, EXPIRES, bytes(KEY.verify_key))


def chain_terms(unit: int = 20) -> Terms:
    return Terms(12, Form.hashchain, 1_000, EXPIRES, root=CHAIN[0], unit=unit, length=50)


def refused(code: ErrorCode, *args: object, **kwargs: object) -> None:
    with pytest.raises(ChannelRefused) as caught:
        accept(*args, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code is code, caught.value


def test_vouchers_pay_the_difference_and_each_supersedes_the_last() -> None:
    t = voucher_terms()
    first = accept(t, opening(t), vouchers.sign(KEY, 11, 200, 1), 0, price=200)
    second = accept(t, first, vouchers.sign(KEY, 11, 450, 2), 0, price=250)
    assert (second.amount, second.sequence) == (450, 2)
    refused(ErrorCode.voucher_stale, t, second, vouchers.sign(KEY, 11, 450, 2), 0)  # the same voucher again
    refused(ErrorCode.voucher_stale, t, second, vouchers.sign(KEY, 11, 400, 3), 0)  # a lower amount
    refused(ErrorCode.voucher_stale, t, second, vouchers.sign(KEY, 11, 500, 2), 0)  # a reused sequence
    refused(ErrorCode.payment_insufficient, t, second, vouchers.sign(KEY, 11, 460, 3), 0, price=20)
    refused(ErrorCode.voucher_exceeds_deposit, t, second, vouchers.sign(KEY, 11, 1_001, 3), 0)
    refused(ErrorCode.payment_insufficient, t, second, vouchers.sign(KEY, 11, 900, 3), 0, price=10, most=100)


def test_a_forged_or_misplaced_voucher_is_refused() -> None:
    t = voucher_terms()
    forged = vouchers.sign(SigningKey(b"\x08" * 32), 11, 100, 1)
    refused(ErrorCode.voucher_signature_invalid, t, opening(t), forged, 0)
    signed = vouchers.sign(KEY, 11, 100, 1)
    tampered = dataclasses.replace(signed, cumulative=101)
    refused(ErrorCode.voucher_signature_invalid, t, opening(t), tampered, 0)
    refused(ErrorCode.voucher_signature_invalid, t, opening(t), dataclasses.replace(signed, signature=b"x" * 10), 0)
    other_channel = vouchers.sign(KEY, 99, 100, 1)
    refused(ErrorCode.channel_mismatch, t, opening(t), other_channel, 0)
    # Signed for channel 99, relabelled as channel 11: the signature covers the channel id.
    refused(ErrorCode.voucher_signature_invalid, t, opening(t), dataclasses.replace(other_channel, channel_id=11), 0)


def test_nothing_is_accepted_from_the_moment_the_channel_expires() -> None:
    t = voucher_terms()
    v = vouchers.sign(KEY, 11, 100, 1)
    assert accept(t, opening(t), v, EXPIRES - 1).amount == 100
    refused(ErrorCode.channel_expired, t, opening(t), v, EXPIRES)
    assert accept(t, opening(t), v, EXPIRES + 5, until_ms=EXPIRES + 10).amount == 100  # a dispute window


def test_a_hash_chain_pays_per_element_and_checks_from_the_last_one() -> None:
    t = chain_terms()
    one = accept(t, opening(t), ChainPayment(12, 1, CHAIN[1]), 0, price=20)
    five = accept(t, one, ChainPayment(12, 5, CHAIN[5]), 0, price=80)
    assert (five.amount, five.sequence, five.proof) == (100, 5, CHAIN[5])
    refused(ErrorCode.voucher_stale, t, five, ChainPayment(12, 5, CHAIN[5]), 0)
    refused(ErrorCode.voucher_stale, t, five, ChainPayment(12, 3, CHAIN[3]), 0)
    refused(ErrorCode.payment_insufficient, t, five, ChainPayment(12, 6, CHAIN[6]), 0, price=21)
    refused(ErrorCode.chain_element_invalid, t, five, ChainPayment(12, 7, CHAIN[8]), 0)  # wrong element for index
    other = hashchain.chain(b"\x0a" * 32, 50)
    refused(ErrorCode.chain_element_invalid, t, five, ChainPayment(12, 7, other[7]), 0)  # another channel's chain
    refused(ErrorCode.voucher_exceeds_deposit, t, five, ChainPayment(12, 51, b"\0" * 32), 0)
    refused(ErrorCode.channel_mismatch, t, five, vouchers.sign(KEY, 12, 200, 6), 0)
    refused(ErrorCode.channel_mismatch, voucher_terms(), opening(voucher_terms()), ChainPayment(11, 1, CHAIN[1]), 0)


def test_terms_that_cannot_be_honoured_are_refused() -> None:
    with pytest.raises(ChannelRefused) as caught:
        Terms(12, Form.hashchain, 999, EXPIRES, root=CHAIN[0], unit=20, length=50)
    assert caught.value.code is ErrorCode.voucher_exceeds_deposit
    for bad in (
        lambda: Terms(0, Form.voucher, 1, EXPIRES, bytes(KEY.verify_key)),
        lambda: Terms(1, Form.voucher, 0, EXPIRES, bytes(KEY.verify_key)),
        lambda: Terms(1, Form.voucher, 1, EXPIRES, b"short"),
        lambda: Terms(1, Form.hashchain, 100, EXPIRES, root=b"short", unit=1, length=10),
        lambda: Terms(1, Form.hashchain, 100, EXPIRES, root=CHAIN[0], unit=0, length=10),
    ):
        with pytest.raises(ChannelRefused):
            bad()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 400), st.integers(-2, 3), st.booleans()), min_size=1, max_size=30))
def test_whatever_arrives_the_accepted_amount_only_rises_and_never_passes_the_deposit(
    steps: list[tuple[int, int, bool]],
) -> None:
    """Random vouchers, some stale, some forged, some too large: each is accepted exactly when an honest
    model says it should be (signed by the payer, a later sequence, more than the mark, within the
    deposit), so the high-water mark stays honest and an honest voucher is never refused."""
    t = voucher_terms(deposit=2_000)
    mark, forger = opening(t), SigningKey(b"\x05" * 32)
    total, seq, accepted = 0, 0, 0
    for delta, seq_step, forge in steps:
        total, seq = max(0, total + delta), max(0, seq + seq_step)
        v = vouchers.sign(forger if forge else KEY, 11, min(total, 2**100), seq)
        honest = not forge and seq > mark.sequence and mark.amount < total <= t.deposit
        try:
            new = accept(t, mark, v, 0)
        except ChannelRefused:
            assert not honest, (total, seq, mark)
            continue
        assert honest, (total, seq, forge, mark)
        assert mark.amount < new.amount <= t.deposit and new.sequence > mark.sequence
        assert (new.amount, new.sequence) == (total, seq)
        mark, accepted = new, accepted + 1
    assert isinstance(mark, Accepted) and mark.sequence >= accepted


def test_a_run_of_honest_vouchers_is_accepted_one_by_one() -> None:
    t = voucher_terms(deposit=2_000)
    mark = opening(t)
    for i in range(1, 21):
        mark = accept(t, mark, vouchers.sign(KEY, 11, i * 100, i), 0)
    assert (mark.amount, mark.sequence) == (2_000, 20)
