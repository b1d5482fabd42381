"""The ledger rules, pure: every result code, linked chains, pending transfers, idempotency."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farthing import limits
from farthing.domain.ledger import BatchEffects, LedgerState, balance_sums, create_accounts, expire_due
from farthing.domain.ledger_transfers import TransferRules
from farthing.domain.ledger_types import (
    Account,
    AccountFlags,
    PendingInfo,
    PendingStatus,
    Transfer,
    TransferFlags,
)
from farthing.errors import AccountResult, TransferResult

R = TransferResult
L = 840
DMNEC = int(AccountFlags.debits_must_not_exceed_credits)
CMNED = int(AccountFlags.credits_must_not_exceed_debits)
LINKED = int(TransferFlags.linked)
PENDING = int(TransferFlags.pending)
POST = int(TransferFlags.post_pending)
VOID = int(TransferFlags.void_pending)


class Ledger:
    """A pure ledger for tests: state plus what was committed, no store."""

    def __init__(self) -> None:
        self.state = LedgerState()
        self.known: dict[int, Transfer] = {}
        self.resolved: dict[int, PendingInfo] = {}
        self.now_ms = 1_000_000

    def accounts(self, *accounts: Account) -> list[AccountResult]:
        return create_accounts(accounts, self.state, BatchEffects(), self.now_ms)

    def transfers(self, *transfers: Transfer) -> list[R]:
        effects = BatchEffects()
        expire_due(self.state, self.now_ms, effects)
        rules = TransferRules(self.state, self.known, self.resolved, effects, self.now_ms)
        results = rules.apply(transfers)
        self.resolved = rules.resolved
        return results

    def balances(self, account_id: int) -> tuple[int, int, int, int]:
        return self.state.accounts[account_id].balances()


@pytest.fixture
def ledger() -> Ledger:
    lg = Ledger()
    assert (
        lg.accounts(
            Account(1, L, 1),  # funding: may go negative
            Account(2, L, 1, flags=DMNEC),  # a wallet
            Account(3, L, 1, flags=DMNEC),
            Account(4, L, 1, flags=CMNED),
            Account(9, 978, 1),  # another ledger
            Account(10, L, 1, flags=int(AccountFlags.closed)),
        )
        == [AccountResult.ok] * 6
    )
    assert lg.transfers(Transfer(100, 1, 2, 1_000, L, 1)) == [R.ok]
    return lg


def t(id_: int, dr: int = 2, cr: int = 3, amount: int = 10, **kw: int) -> Transfer:
    return Transfer(id_, dr, cr, amount, kw.pop("ledger", L), kw.pop("code", 1), **kw)


@pytest.mark.parametrize(
    ("transfer", "expected"),
    [
        (t(0), R.id_must_not_be_zero),
        (t(limits.u128_max), R.id_must_not_be_int_max),
        (t(-5), R.id_out_of_range),
        (t(2**129), R.id_out_of_range),
        (t(1, flags=1 << 9), R.flags_unknown),
        (t(1, flags=PENDING | POST), R.flags_are_mutually_exclusive),
        (t(1, dr=0), R.debit_account_id_must_not_be_zero),
        (t(1, cr=0), R.credit_account_id_must_not_be_zero),
        (t(1, dr=-1), R.account_id_out_of_range),
        (t(1, dr=3, cr=3), R.accounts_must_be_different),
        (t(1, pending_id=7), R.pending_id_must_be_zero),
        (t(1, flags=POST), R.pending_id_must_not_be_zero),
        (t(1, flags=VOID, pending_id=1), R.pending_id_must_be_different),
        (t(1, timeout_s=5), R.timeout_reserved_for_pending_transfer),
        (t(1, flags=PENDING, timeout_s=2**32), R.timeout_out_of_range),
        (t(1, ledger=0), R.ledger_must_not_be_zero),
        (t(1, ledger=2**32), R.ledger_out_of_range),
        (t(1, code=0), R.code_must_not_be_zero),
        (t(1, code=2**16), R.code_out_of_range),
        (t(1, user_data=-1), R.user_data_out_of_range),
        (t(1, amount=0), R.amount_must_be_positive),
        (t(1, amount=-10), R.amount_must_be_positive),
        (t(1, amount=2**127), R.amount_exceeds_max),
        (t(1, dr=77), R.debit_account_not_found),
        (t(1, cr=77), R.credit_account_not_found),
        (t(1, cr=9), R.accounts_must_have_the_same_ledger),
        (t(1, ledger=978), R.transfer_must_have_the_same_ledger_as_accounts),
        (t(1, dr=1, cr=10), R.credit_account_closed),
        (t(1, dr=10, cr=1), R.debit_account_closed),
        (t(1, amount=1_001), R.exceeds_credits),
        (t(1, dr=1, cr=4), R.exceeds_debits),
        (t(1, flags=POST, pending_id=555), R.pending_transfer_not_found),
        (t(1, flags=VOID, pending_id=100), R.pending_transfer_not_pending),
    ],
)
def test_each_rule_has_its_result_and_changes_nothing(ledger: Ledger, transfer: Transfer, expected: R) -> None:
    before = {i: ledger.balances(i) for i in ledger.state.accounts}
    assert ledger.transfers(transfer) == [expected]
    assert {i: ledger.balances(i) for i in ledger.state.accounts} == before


def test_floats_bools_and_strings_are_type_errors_at_construction() -> None:
    with pytest.raises(TypeError, match="amount"):
        Transfer(1, 2, 3, 0.5, L, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ledger"):
        Transfer(1, 2, 3, 5, True, 1)
    with pytest.raises(TypeError, match="id"):
        Account("1", L, 1)  # type: ignore[arg-type]


def test_a_transfer_moves_the_same_amount_out_and_in(ledger: Ledger) -> None:
    assert ledger.transfers(t(1, amount=250)) == [R.ok]
    assert ledger.balances(2) == (0, 250, 0, 1_000)
    assert ledger.balances(3) == (0, 0, 0, 250)
    dp, dpo, cp, cpo = balance_sums(ledger.state.accounts.values())
    assert (dp, dpo) == (cp, cpo)


def test_a_wallet_can_spend_exactly_what_it_holds_and_not_a_unit_more(ledger: Ledger) -> None:
    assert ledger.transfers(t(1, amount=1_000), t(2, amount=1)) == [R.ok, R.exceeds_credits]
    assert ledger.balances(2) == (0, 1_000, 0, 1_000)


def test_a_repeated_id_is_never_applied_twice(ledger: Ledger) -> None:
    assert ledger.transfers(t(1, amount=250), t(1, amount=250)) == [R.ok, R.exists]
    assert ledger.transfers(t(1, amount=250)) == [R.exists]
    assert ledger.balances(3) == (0, 0, 0, 250)


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"amount": 251}, R.exists_with_different_amount),
        ({"dr": 1}, R.exists_with_different_debit_account_id),
        ({"cr": 4}, R.exists_with_different_credit_account_id),
        ({"user_data": 9}, R.exists_with_different_user_data),
        ({"code": 2}, R.exists_with_different_code),
        ({"flags": PENDING}, R.exists_with_different_flags),
        ({"ledger": 978}, R.exists_with_different_ledger),
    ],
)
def test_a_repeated_id_with_other_fields_names_the_field(ledger: Ledger, changed: dict[str, int], expected: R) -> None:
    assert ledger.transfers(t(1, amount=250)) == [R.ok]
    fields: dict[str, int] = {"amount": 250, **changed}
    assert ledger.transfers(t(1, **fields)) == [expected]
    assert ledger.balances(3) == (0, 0, 0, 250)


def test_linked_chain_applies_all_or_none(ledger: Ledger) -> None:
    ok_chain = [t(1, amount=100, flags=LINKED), t(2, dr=3, cr=1, amount=5)]
    assert ledger.transfers(*ok_chain) == [R.ok, R.ok]
    bad_chain = [t(3, amount=100, flags=LINKED), t(4, dr=3, cr=1, amount=10**9, flags=LINKED), t(5, amount=1)]
    assert ledger.transfers(*bad_chain) == [R.linked_event_failed, R.exceeds_credits, R.linked_event_failed]
    assert ledger.balances(2) == (0, 100, 0, 1_000)
    assert ledger.balances(3) == (0, 5, 0, 100)
    # The failed chain's ids were not used up.
    assert ledger.transfers(t(3, amount=100)) == [R.ok]


def test_linked_chain_left_open_fails_and_events_after_a_chain_stand_alone(ledger: Ledger) -> None:
    assert ledger.transfers(t(1, amount=1), t(2, amount=1, flags=LINKED)) == [R.ok, R.linked_event_chain_open]
    assert ledger.transfers(t(3, flags=LINKED), t(4, amount=0), t(5, amount=7)) == [
        R.linked_event_failed,
        R.amount_must_be_positive,
        R.ok,
    ]
    assert ledger.balances(3) == (0, 0, 0, 8)


def test_pending_reserves_then_posts_part_and_releases_the_rest(ledger: Ledger) -> None:
    assert ledger.transfers(t(1, amount=600, flags=PENDING, timeout_s=60)) == [R.ok]
    assert ledger.balances(2) == (600, 0, 0, 1_000)
    assert ledger.transfers(t(2, amount=500)) == [R.exceeds_credits]  # the hold counts
    assert ledger.transfers(t(3, dr=0, cr=0, amount=250, ledger=0, code=0, flags=POST, pending_id=1)) == [R.ok]
    assert ledger.balances(2) == (0, 250, 0, 1_000)
    assert ledger.balances(3) == (0, 0, 0, 250)
    assert ledger.transfers(t(4, amount=0, flags=VOID, pending_id=1)) == [R.pending_transfer_already_posted]
    assert ledger.known[3].amount == 250 and ledger.known[3].debit_account_id == 2


def test_post_more_than_pending_or_with_other_accounts_is_refused(ledger: Ledger) -> None:
    assert ledger.transfers(t(1, amount=600, flags=PENDING)) == [R.ok]
    assert ledger.transfers(t(2, amount=601, flags=POST, pending_id=1)) == [R.exceeds_pending_transfer_amount]
    assert ledger.transfers(t(3, dr=1, amount=6, flags=POST, pending_id=1)) == [
        R.pending_transfer_has_different_debit_account_id
    ]
    assert ledger.transfers(t(4, amount=5, flags=VOID, pending_id=1)) == [R.pending_transfer_has_different_amount]
    assert ledger.transfers(t(5, amount=0, flags=VOID, pending_id=1)) == [R.ok]
    assert ledger.balances(2) == (0, 0, 0, 1_000)
    assert ledger.transfers(t(6, amount=0, flags=POST, pending_id=1)) == [R.pending_transfer_already_voided]


def test_expired_pending_releases_its_amount_once(ledger: Ledger) -> None:
    assert ledger.transfers(t(1, amount=600, flags=PENDING, timeout_s=2)) == [R.ok]
    ledger.now_ms += 2_000
    assert ledger.transfers(t(2, amount=0, flags=POST, pending_id=1)) == [R.pending_transfer_expired]
    assert ledger.balances(2) == (0, 0, 0, 1_000)
    assert 1 not in ledger.state.pending
    assert ledger.resolved[1].status is PendingStatus.expired
    assert ledger.transfers(t(3, amount=0, flags=VOID, pending_id=1)) == [R.pending_transfer_expired]


def test_a_rolled_back_pending_leaves_no_expiry_behind(ledger: Ledger) -> None:
    assert ledger.transfers(t(1, amount=5, flags=PENDING | LINKED, timeout_s=1), t(2, amount=0)) == [
        R.linked_event_failed,
        R.amount_must_be_positive,
    ]
    assert ledger.transfers(t(1, amount=5, flags=PENDING, timeout_s=100)) == [R.ok]
    ledger.now_ms += 1_500
    assert ledger.transfers(t(3, amount=1)) == [R.ok]
    assert 1 in ledger.state.pending  # the stale heap entry of the rolled-back try did not expire it


def test_account_creation_rules() -> None:
    lg = Ledger()
    A = AccountResult
    assert lg.accounts(
        Account(0, L, 1),
        Account(limits.u128_max, L, 1),
        Account(5, L, 1, flags=DMNEC | CMNED),
        Account(5, 0, 1),
        Account(5, L, 0),
        Account(5, L, 1, flags=64),
        Account(5, L, 1),
        Account(5, L, 1),
        Account(5, L, 2),
    ) == [
        A.id_must_not_be_zero,
        A.id_must_not_be_int_max,
        A.flags_are_mutually_exclusive,
        A.ledger_must_not_be_zero,
        A.code_must_not_be_zero,
        A.flags_unknown,
        A.ok,
        A.exists,
        A.exists_with_different_code,
    ]
    linked = int(AccountFlags.linked)
    assert lg.accounts(Account(6, L, 1, flags=linked), Account(7, 0, 1)) == [
        A.linked_event_failed,
        A.ledger_must_not_be_zero,
    ]
    assert 6 not in lg.state.accounts


# A random walk over the rules: whatever happens, debits equal credits and flagged accounts hold.
_ops = st.lists(
    st.tuples(
        st.sampled_from(["plain", "pending", "post", "void", "linked"]),
        st.integers(1, 6),
        st.integers(1, 6),
        st.integers(-5, 3_000),
        st.integers(1, 40),
    ),
    max_size=60,
)


@settings(max_examples=200)
@given(_ops)
def test_random_batches_keep_the_books_balanced(ops: list[tuple[str, int, int, int, int]]) -> None:
    lg = Ledger()
    flags = [0, DMNEC, DMNEC, CMNED, 0, DMNEC]
    lg.accounts(*(Account(i + 1, L, 1, flags=f) for i, f in enumerate(flags)))
    lg.transfers(*(Transfer(1_000 + i, 1, i, 5_000, L, 1) for i in (2, 3, 6)))
    next_id = 2_000
    for kind, dr, cr, amount, ref in ops:
        next_id += 1
        f = {"plain": 0, "pending": PENDING, "post": POST, "void": VOID, "linked": LINKED}[kind]
        pid = 2_000 + ref if f in (POST, VOID) else 0
        lg.transfers(
            Transfer(next_id, dr, cr, amount, L, 1, flags=f, pending_id=pid),
            Transfer(next_id + 10**6, 1, 2, 1, L, 1),
        )
        dp, dpo, cp, cpo = balance_sums(lg.state.accounts.values())
        assert (dp, dpo) == (cp, cpo)
        for acc in lg.state.accounts.values():
            assert min(acc.balances()) >= 0
            if acc.flags & DMNEC:
                assert acc.debits_pending + acc.debits_posted <= acc.credits_posted
            if acc.flags & CMNED:
                assert acc.credits_pending + acc.credits_posted <= acc.debits_posted


_u128ish = st.one_of(st.integers(-2, 5), st.sampled_from([limits.u128_max - 1, limits.u128_max, 2**128]))


@given(
    st.builds(
        Transfer,
        id=_u128ish,
        debit_account_id=_u128ish,
        credit_account_id=_u128ish,
        amount=st.one_of(st.integers(-2, 3), st.sampled_from([limits.amount_max, limits.amount_max + 1])),
        ledger=st.sampled_from([0, 1, limits.ledger_max, limits.ledger_max + 1]),
        code=st.sampled_from([0, 1, limits.code_max, limits.code_max + 1]),
        flags=st.sampled_from([0, LINKED, PENDING, POST, VOID, 16]),
        pending_id=st.integers(0, 2),
        user_data=st.sampled_from([-1, 0, limits.u128_max - 1, limits.u128_max]),
        timeout_s=st.integers(0, 1),
    )
)
def test_the_fast_path_admits_only_transfers_the_full_rules_admit(t: Transfer) -> None:
    from farthing.domain.ledger_transfers import _transfer_fields, _transfer_shape, plain_in_range

    full = _transfer_shape(t) is R.ok and _transfer_fields(t) is R.ok
    if plain_in_range(t):
        assert full
    elif full:
        assert t.flags or t.pending_id or t.timeout_s  # only non-plain transfers leave the fast path
