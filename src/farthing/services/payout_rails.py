"""How payouts reach the merchants' banks: a `PayoutRail`.

A rail takes the payouts created and not sent yet, in the currencies it carries, with each merchant's bank
account, and either hands back the document that carries them (`SepaFileRail`: one ISO 20022 pain.001.001.09
credit transfer file, checked against its schema, which the operator gives the bank; the bank's reports then
say paid or returned) or pays them itself and at once (`TestRail`: test money, the demo and the policy lab;
an on-chain rail would be another). `Payouts.send` marks them sent and, for a rail that pays at once, paid.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Protocol

from farthing.adapters import sepa
from farthing.domain.money import currencies
from farthing.domain.payouts import Payout


class PayoutRail(Protocol):
    name: str
    currencies: frozenset[str]
    settles_at_once: bool
    """True: `send` paid them (no bank report will come); False: a bank's report will say."""

    def send(self, payouts: Sequence[Payout], accounts: Mapping[str, Mapping[str, str]],
             execution: datetime.date) -> bytes | None:  # fmt: skip
        """Send `payouts` (`accounts`: merchant -> holder, iban, bic); the document that carries them, if any."""
        ...


class SepaFileRail:
    """Euro payouts in one SEPA credit transfer file from the platform's account `debtor`."""

    name = "sepa"
    currencies = frozenset({"EUR"})
    settles_at_once = False

    def __init__(self, debtor: sepa.Debtor) -> None:
        self.debtor = debtor

    def send(self, payouts: Sequence[Payout], accounts: Mapping[str, Mapping[str, str]],
             execution: datetime.date) -> bytes | None:  # fmt: skip
        return sepa.credit_transfer(self.debtor, payouts, accounts, execution)


class TestRail:
    """Pays every payout at once, in any currency, and remembers which: test money only."""

    __test__ = False  # a rail for tests and the lab, not a test case
    name = "test"
    settles_at_once = True

    def __init__(self) -> None:
        self.currencies = frozenset(c.code for c in currencies())
        self.paid: list[str] = []

    def send(self, payouts: Sequence[Payout], accounts: Mapping[str, Mapping[str, str]],
             execution: datetime.date) -> bytes | None:  # fmt: skip
        self.paid += [p.id for p in payouts]
        return None
