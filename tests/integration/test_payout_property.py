"""For any sequence of payments, refunds, disputes (won, lost or open) and payouts (paid, returned or still
held), what a merchant was paid out plus what is held for the bank or for open disputes plus its balance is
what it earned (payments less fees, refunds and disputes lost), to the ledger unit; refunds and disputes
never give a payer back more than it paid; and every ledger sums to zero."""

from __future__ import annotations

import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from farthing.bootstrap import open_platform
from farthing.domain.payouts import Terms
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from ledger_sums import assert_every_ledger_sums_to_zero

OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))
STEP = st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 5_000_000)),  # up to 5.00 EUR, in micro-euros
    st.tuples(st.just("refund"), st.integers(1, 3_000_000)),
    st.tuples(st.just("payout"), st.sampled_from(["paid", "returned", "held"])),
    st.tuples(st.just("reserve"), st.integers(0, 500_000)),  # 0 to 50 %
    st.tuples(st.just("dispute"), st.integers(1, 3_000_000)),
    st.tuples(st.just("decide"), st.sampled_from(["won", "lost"])),
)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(STEP, min_size=1, max_size=25))
def test_paid_out_held_and_balance_add_up_to_what_was_earned(steps: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        platform = open_platform(f"sqlite:///{folder}/ledger.db")
        try:
            merchant, key, _ = platform.parties.create(OPERATOR, "merchant", "Zeitung")
            shop = Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES)
            cid, ckey, _ = platform.parties.create(OPERATOR, "customer", "Leser")
            payer = Principal(ckey, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
            platform.topups.top_up(payer, positive_money("500.00", "EUR"), "4242424242424242")
            platform.payouts.set_account(shop, "Zeitung GmbH", "DE89 3704 0044 0532 0130 00")
            paid_ids: list[str] = []
            refunded: dict[str, int] = {}
            for kind, arg in steps:
                try:
                    if kind == "pay":
                        amount = f"{arg // 1_000_000}.{arg % 1_000_000:06d}"  # type: ignore[operator]
                        paid_ids.append(platform.payments.pay(payer, PaymentItem.of(merchant, amount, "EUR"), None).id)
                    elif kind == "refund" and paid_ids:
                        amount = f"{arg // 1_000_000}.{arg % 1_000_000:06d}"  # type: ignore[operator]
                        platform.refunds.refund(shop, paid_ids[-1], amount, None)
                        refunded[paid_ids[-1]] = refunded.get(paid_ids[-1], 0) + arg  # type: ignore[operator]
                    elif kind == "reserve":
                        platform.payouts.set_terms(shop, "EUR", Terms(reserve_ppm=arg * 2, reserve_days=30))  # type: ignore[operator]
                    elif kind == "dispute" and paid_ids:
                        amount = f"{arg // 1_000_000}.{arg % 1_000_000:06d}"  # type: ignore[operator]
                        platform.disputes.open(payer, paid_ids[-1], amount, "not_received")
                    elif kind == "decide" and platform.disputes.list(OPERATOR):
                        platform.disputes.decide(OPERATOR, platform.disputes.list(OPERATOR)[0].id, str(arg))
                    elif kind == "payout":
                        made = platform.payouts.create(shop, "EUR")
                        if arg != "held":
                            platform.payouts.settle(OPERATOR, made.id, paid=arg == "paid")
                except PlatformError:
                    pass  # refused (more than was paid, nothing to pay out): the ledger moved nothing
            payouts = platform.payouts.list(shop)
            paid_out = sum(p.amount for p in payouts if p.status == "paid")
            held = sum(p.amount for p in payouts if p.status in ("created", "sent"))
            if not paid_ids:  # nothing earned: no wallet, nothing paid out
                assert payouts == []
            else:
                wallet, _ = platform.accounts.wallet_of_party(merchant, "EUR")
                [state] = platform.ledger.accounts([wallet])
                dp, dpo, _, cpo = state.balances()
                daily = platform.history.daily(wallet, 0)
                earned = sum(a if kind == "received" else -a for _, kind, a in daily)  # less fees and refunds
                disputes = platform.disputes.list(shop)
                held += sum(d.from_merchant for d in disputes if d.open)
                lost = sum(d.from_merchant for d in disputes if d.status == "lost")
                assert dp == held and paid_out + held + (cpo - dpo - dp) == earned - lost
                for payment in paid_ids:  # refunded and disputed (unless won) within what was paid
                    taken = refunded.get(payment, 0)
                    taken += sum(d.amount for d in disputes if d.payment == payment and d.status != "won")
                    assert taken <= platform.holds.get(shop, payment).amount
            assert_every_ledger_sums_to_zero(platform)
        finally:
            platform.close()
