"""Payments on fakes: legs linked with the fee, holds, retries, refusals by the ledger, batches, and
the event loop kept free of round trips."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.ledger_types import TransferFlags
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import T_PAYMENT, T_PLATFORM_FEE
from farthing.services.payments.model import Payment, PaymentItem, formatted

USD = currency("USD")


def _world() -> tuple[World, Principal, str]:
    w = World(ManualClock(1_800_000_000_000))
    return w, w.customer("1.00"), w.merchant()  # type: ignore[return-value]


def test_a_payment_moves_the_amount_and_the_linked_fee_and_the_ledger_sums_to_zero() -> None:
    w, payer, merchant = _world()
    paid = w.payments.pay(payer, PaymentItem.of(merchant, "0.25", "USD", reference="a-1"), None)
    assert (*formatted(paid), paid.status, paid.replayed) == ("0.25", "0.005", "succeeded", False)
    legs = sorted(w.ledger.transfers.values(), key=lambda t: t.code)
    [payment, fee] = [t for t in legs if t.code in (T_PAYMENT, T_PLATFORM_FEE)]
    assert payment.flags & TransferFlags.linked and payment.amount == USD.parse("0.25")
    assert fee.debit_account_id == payment.credit_account_id and fee.amount == USD.parse("0.005")
    debits, credits = w.ledger.sums(USD.ledger)
    assert debits == credits
    [event] = w.ledger.outbox
    assert event.type == "payment.succeeded" and paid.id in event.body


def test_a_retry_with_its_key_replays_and_another_body_is_refused() -> None:
    w, payer, merchant = _world()
    first = w.payments.pay(payer, PaymentItem.of(merchant, "0.10", "USD"), "k-1")
    again = w.payments.pay(payer, PaymentItem.of(merchant, "0.10", "USD"), "k-1")
    assert again.id == first.id and again.replayed and len(w.ledger.outbox) == 1
    with pytest.raises(PlatformError) as other:
        w.payments.pay(payer, PaymentItem.of(merchant, "0.20", "USD"), "k-1")
    assert other.value.code is ErrorCode.idempotency_key_reused


def test_what_the_wallet_cannot_hold_is_refused_and_moves_nothing() -> None:
    w, payer, merchant = _world()
    before = dict(w.ledger.transfers)
    with pytest.raises(PlatformError) as poor:
        w.payments.pay(payer, PaymentItem.of(merchant, "2.00", "USD"), None)
    assert poor.value.code is ErrorCode.insufficient_funds and w.ledger.transfers == before


@pytest.mark.parametrize(("amount", "code"), [(0.1, ErrorCode.amount_float_not_allowed),
                                              ("-1", ErrorCode.amount_invalid)])  # fmt: skip
def test_bad_amounts_and_unknown_merchants_are_refused_before_the_ledger(amount: object, code: ErrorCode) -> None:
    w, payer, merchant = _world()
    trips = w.ledger.round_trips
    with pytest.raises(PlatformError) as bad:
        w.payments.pay(payer, PaymentItem.of(merchant, amount, "USD"), None)
    assert bad.value.code is code
    with pytest.raises(PlatformError) as unknown:
        w.payments.pay(payer, PaymentItem.of("mer_nobody", "0.10", "USD"), None)
    assert unknown.value.code is ErrorCode.not_found and w.ledger.round_trips == trips


def test_a_hold_is_pending_and_takes_no_fee_until_captured() -> None:
    w, payer, merchant = _world()
    held = w.payments.pay(payer, PaymentItem.of(merchant, "0.40", "USD", capture=False, hold_s=60), None)
    assert (held.status, held.fee) == ("requires_capture", 0)
    [(_, wallet)] = w.accounts.wallets(payer)
    assert wallet.debits_pending == USD.parse("0.40") and wallet.debits_posted == 0


def _item(merchant: str, amount: object) -> PaymentItem | PlatformError:
    """A batch's item as the API makes it: one whose amount is refused is its own error."""
    try:
        return PaymentItem.of(merchant, amount, "USD")
    except PlatformError as refused:
        return refused


def test_a_batch_answers_each_item_on_its_own_in_order() -> None:
    w, payer, merchant = _world()
    items = [_item(merchant, "0.30"), _item(merchant, "0.90"), _item(merchant, 0.1), _item(merchant, "0.30")]
    answers = w.batches.pay(payer, items, "batch-1")
    assert isinstance(answers[0], Payment) and isinstance(answers[3], Payment)
    assert [a.code for a in answers[1:3] if isinstance(a, PlatformError)] == [
        ErrorCode.insufficient_funds, ErrorCode.amount_float_not_allowed]  # fmt: skip
    again = w.batches.pay(payer, items, "batch-1")
    assert [a.replayed for a in again if isinstance(a, Payment)] == [True, True]
    with pytest.raises(PlatformError) as empty:
        w.batches.pay(payer, [], None)
    assert empty.value.code is ErrorCode.batch_must_not_be_empty


def test_only_a_customer_key_with_the_scope_pays() -> None:
    w, payer, merchant = _world()
    narrow = Principal(payer.key_id, "customer", payer.party_id, "test", frozenset({"read"}))
    with pytest.raises(PlatformError) as refused:
        w.payments.pay(narrow, PaymentItem.of(merchant, "0.10", "USD"), None)
    assert refused.value.code is ErrorCode.forbidden


def test_pay_async_waits_off_the_loop_only_when_an_account_must_be_opened() -> None:
    w, payer, merchant = _world()
    loop_thread: list[threading.Thread] = []
    opened_in: list[threading.Thread] = []
    real = w.ledger.submit

    def submit(kind: str, events: object, outbox: object = ()) -> object:
        if kind == "accounts":
            opened_in.append(threading.current_thread())
        return real(kind, events, outbox)  # type: ignore[arg-type]

    w.ledger.submit = submit  # type: ignore[method-assign]

    async def pay(amount: str) -> Payment:
        loop_thread.append(threading.current_thread())
        return await w.payments.pay_async(payer, PaymentItem.of(merchant, amount, "USD"), None)

    first = asyncio.run(pay("0.10"))  # the merchant's wallet and the fee account open now: in a worker
    assert first.status == "succeeded" and opened_in and loop_thread[0] not in opened_in
    opened = len(opened_in)
    second = asyncio.run(pay("0.10"))  # all known: prepared on the loop, nothing opened
    assert second.status == "succeeded" and len(opened_in) == opened


class _StepUps:
    """The step-up service as the payment path sees it: the payer has a second factor."""

    challenge_s = 300

    def ready(self, party_id: str) -> bool:
        return True

    def annotate(self, payment: Payment) -> Payment:
        return payment


def test_a_payment_the_policy_steps_up_is_drafted_once_and_waits_as_a_hold() -> None:
    from farthing.domain.policy.evaluate import Evidence
    from farthing.services.policies import load

    w = World(ManualClock(1_800_000_000_000), {"EUR": load("eu-de")})
    payer, merchant = w.customer("100.00", "EUR"), w.merchant()
    w.payments.step_ups = w.payments.legs.step_ups = _StepUps()  # type: ignore[assignment]
    drafted, decided = [], []
    draft, gate = w.payments.legs.draft, w.policy.gate
    w.payments.legs.draft = lambda *a: drafted.append(1) or draft(*a)  # type: ignore[method-assign]
    w.policy.gate = lambda *a, **k: decided.append(1) or gate(*a, **k)  # type: ignore[method-assign]
    item = PaymentItem.of(merchant, "40.00", "EUR", evidence=Evidence(ip="DE", billing="DE"))  # over €30: SCA
    paid = w.payments.pay(payer, item, None)  # type: ignore[arg-type]
    assert paid.status == "requires_authentication" and paid.fee == 0
    assert (len(drafted), len(decided)) == (1, 1)
    [hold] = [t for t in w.ledger.transfers.values() if t.code == T_PAYMENT]
    assert hold.flags & TransferFlags.pending and hold.amount == currency("EUR").parse("40.00")


def test_batches_side_by_side_are_prepared_one_after_the_other_and_each_pays_in_full() -> None:
    w, _, merchant = _world()
    payers = [w.customer("10.00"), w.customer("10.00")]
    order: list[int] = []
    prepare = w.payments.prepare

    def noted(principal: Principal, *args: object, **kwargs: object) -> object:
        order.append(payers.index(principal))
        time.sleep(0)  # let the other thread in, as the server's reads and writes do
        return prepare(principal, *args, **kwargs)  # type: ignore[arg-type]

    w.payments.prepare = noted  # type: ignore[method-assign]
    items = [_item(merchant, "0.01") for _ in range(300)]
    answers: list[list[Payment | PlatformError]] = [[], []]

    both = threading.Barrier(2)

    def pay(k: int) -> None:
        both.wait()
        answers[k] = w.batches.pay(payers[k], items, f"batch-{k}")

    threads = [threading.Thread(target=pay, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(a, Payment) for side in answers for a in side) and len(order) == 600
    first = order[0]
    assert order == [first] * 300 + [1 - first] * 300, "one batch's preparation cut into the other's"
