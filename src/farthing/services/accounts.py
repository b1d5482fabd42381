"""The chart of accounts (its codes: `farthing.domain.chart`), wallets and public ids.

Every party has a wallet per currency, a ledger account opened on first use (the same id every time,
derived from the party and the currency); the platform has its own accounts per currency (funding
clearing, card fees, fee revenue, tax liability, rounding). Which wallets a party holds is kept beside
the ledger behind `WalletRepository` (SQL: `farthing.adapters.wallets_sql`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Protocol

from farthing.domain.chart import (  # noqa: F401  (the chart is named here for the services)
    CODE_CARD_FEES,
    CODE_CUSTOMER,
    CODE_FEE_REVENUE,
    CODE_FUNDING_CLEARING,
    CODE_MERCHANT,
    CODE_ROUNDING,
    CODE_TAX_LIABILITY,
    PLATFORM_ACCOUNTS,
    T_ADDED_TAX,
    T_ADDED_TAX_REFUND,
    T_CARD_FEE,
    T_CHANNEL,
    T_PAYMENT,
    T_PLATFORM_FEE,
    T_REFUND,
    T_ROUNDING,
    T_TAX,
    T_TOPUP,
)
from farthing.domain.ledger_types import Account, AccountFlags, AccountState
from farthing.domain.money import Currency, currency
from farthing.domain.principals import Principal, party_of, require
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id
from farthing.errors import AccountResult, ErrorCode, PlatformError
from farthing.services.blocking import may_block

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE32_PAIRS = [a + b for a in _BASE32 for b in _BASE32]
_SHIFTS = tuple(range(120, -1, -10))


def public_id_of(prefix: str, value: int) -> str:
    """`prefix` and the 128-bit id in lower-case base32 without padding (RFC 4648: 26 characters).

    Two characters at a time from a table, twice as fast as `base64.b32encode` (on every payment)."""
    bits, pairs = value << 2, _BASE32_PAIRS  # 128 bits padded to 130: 13 pairs of 5-bit characters
    return prefix + "".join([pairs[(bits >> shift) & 1023] for shift in _SHIFTS])


def payment_transfer_id(public_id: str) -> int:
    """The ledger id of a `pay_…` id (not found when it cannot be one)."""
    if not public_id.startswith("pay_") or len(public_id) != 30:
        raise PlatformError(ErrorCode.not_found, f"no payment {public_id!r}")
    try:
        raw = base64.b32decode(public_id[4:].upper() + "======")
    except (binascii.Error, ValueError):
        raise PlatformError(ErrorCode.not_found, f"no payment {public_id!r}") from None
    return int.from_bytes(raw, "big")


def wallet_id(party_id: str, currency_code: str) -> int:
    """A party's wallet account in a currency: the same id every time (`Accounts.wallet_account` opens it)."""
    return derive_id("wallet", party_id, currency_code)


def platform_account_id(code: int, cur: Currency, mode: str) -> int:
    """The id of the platform's account of `code` in `cur` for `mode` (the same every time)."""
    return (
        derive_id("platform", str(code), cur.code)
        if mode == "test"
        else derive_id("platform", mode, str(code), cur.code)
    )


class WalletRepository(Protocol):
    def add(self, party_id: str, currency_code: str, account_id: int) -> None:
        """Record the party's wallet (nothing if it is recorded already)."""
        ...

    def of_party(self, party_id: str) -> list[tuple[str, int]]:
        """(currency, account id) of each of the party's wallets, by currency."""
        ...

    def find(self, party_id: str, currency_code: str) -> int | None: ...

    def owners(self, account_ids: list[int]) -> dict[int, str]:
        """The party of each of these accounts that is a wallet."""
        ...


class Accounts:
    def __init__(self, ledger: GroupCommitter, wallets: WalletRepository) -> None:
        self.ledger = ledger
        self.repo = wallets
        self._opened: set[int] = set()
        """Accounts known to exist (with their wallet rows): asked of the ledger once per process."""
        self._account_ids: dict[tuple[str, str], int] = {}
        """(party id or platform account code, currency) → the account's id, once it is known to exist:
        deriving it is a SHA-256, three times a payment."""

    def platform_account(self, code: int, cur: Currency, mode: str) -> int:
        """The platform's account of this `code` in `cur` for test or live `mode`: test money and live money
        never meet, so each mode has its own (the test ones keep the ids they always had)."""
        account_id = self._account_ids.get((f"{mode}:{code}", cur.code))
        if account_id is not None:
            return account_id
        account_id = platform_account_id(code, cur, mode)
        if account_id not in self._opened:
            flags = int(AccountFlags.credits_must_not_exceed_debits) if code == CODE_CARD_FEES else 0
            self.create(Account(account_id, cur.ledger, code, flags=flags))
            self._opened.add(account_id)
        self._account_ids[(f"{mode}:{code}", cur.code)] = account_id
        return account_id

    def platform_balances(self, principal: Principal, cur: Currency) -> list[tuple[str, AccountState | None]]:
        """The platform's own accounts in `cur` of the operator's mode as the ledger holds them (None: never
        used): what card payments brought in, card costs, fees earned, tax collected, rounding residue."""
        require(principal, "operator", "read")
        ids = {code: platform_account_id(code, cur, principal.mode) for code in PLATFORM_ACCOUNTS}
        states = {a.id: a for a in self.ledger.accounts(list(ids.values()))}
        return [(PLATFORM_ACCOUNTS[code], states.get(account_id)) for code, account_id in ids.items()]

    def create(self, account: Account) -> None:
        """Open an account (nothing if it exists)."""
        may_block()
        [result] = self.ledger.create_accounts([account])
        if result not in (AccountResult.ok, AccountResult.exists):
            raise PlatformError(ErrorCode.engine_failed, f"could not open account {account.id}: {result.name}")

    def wallet_account(self, party_id: str, kind: str, cur: Currency) -> int:
        """The party's wallet in `cur`, opened on first use (the same id every time)."""
        account_id = self._account_ids.get((party_id, cur.code))
        if account_id is not None:
            return account_id
        account_id = wallet_id(party_id, cur.code)
        if account_id in self._opened:
            self._account_ids[(party_id, cur.code)] = account_id
            return account_id
        code = CODE_CUSTOMER if kind == "customer" else CODE_MERCHANT
        flags = int(AccountFlags.debits_must_not_exceed_credits)
        self.create(Account(account_id, cur.ledger, code, flags=flags))
        self.repo.add(party_id, cur.code, account_id)
        self._opened.add(account_id)
        self._account_ids[(party_id, cur.code)] = account_id
        return account_id

    def wallets(self, principal: Principal) -> list[tuple[str, AccountState]]:
        """The caller's wallets with their ledger state, by currency."""
        held = self.repo.of_party(party_of(principal))
        states = {a.id: a for a in self.ledger.accounts([i for _, i in held])}
        return [(code, states[i]) for code, i in held if i in states]

    def wallet_of(self, principal: Principal, currency_code: str) -> tuple[int, Currency]:
        """The caller's wallet account in a currency, if it has one (else not found)."""
        return self.wallet_of_party(party_of(principal), currency_code)

    def wallet_of_party(self, party_id: str, currency_code: str) -> tuple[int, Currency]:
        """A party's wallet account in a currency, if it has one (else not found)."""
        cur = currency(currency_code)
        found = self.repo.find(party_id, cur.code)
        if found is None:
            raise PlatformError(ErrorCode.not_found, f"no {cur.code} wallet")
        return found, cur

    def owners(self, *account_ids: int) -> dict[int, str]:
        """The party owning each of these accounts that is a wallet."""
        return self.repo.owners(list(account_ids))
