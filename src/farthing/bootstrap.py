"""The one place that assembles Farthing: the ledger, the platform tables, the key vault and the policy
packs, and every service built with what it needs (nothing is wired after construction).

`open_platform` is called by the API's start-up, the CLI, the simulator, the benchmarks and the tests;
`first_run` makes the operator's first key (and with `demo`, a merchant and a funded customer).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import cast

from farthing import limits
from farthing.adapters.allowances_sql import AllowanceTable
from farthing.adapters.answers_sql import AnswerTable
from farthing.adapters.bank_lines_sql import BankLineTable
from farthing.adapters.challenges_sql import ChallengeTable
from farthing.adapters.channels_sql import ChannelTable
from farthing.adapters.checkout_sql import CheckoutTable
from farthing.adapters.devices_sql import DeviceTable
from farthing.adapters.disputes_sql import DisputeTable
from farthing.adapters.factors_sql import FactorTable
from farthing.adapters.history_sql import StatementTable
from farthing.adapters.key_vault import KeyVault
from farthing.adapters.keys_sql import KeyTable
from farthing.adapters.open_store import open_store
from farthing.adapters.outbox_sql import OutboxTable
from farthing.adapters.parties_sql import PartyTable
from farthing.adapters.passkeys_sql import PasskeyTable
from farthing.adapters.payouts_sql import PayoutTable
from farthing.adapters.personal_sql import PersonalTable
from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.policy_sql import OverrideTable, ScaEpochTable, TaxBaseTable
from farthing.adapters.privacy_sql import PrivacyTable
from farthing.adapters.risk_sql import RiskTable
from farthing.adapters.security_log_sql import SecurityEventTable
from farthing.adapters.topups_sql import TopUpAttemptTable
from farthing.adapters.users_sql import UserTable
from farthing.adapters.wallets_sql import WalletTable
from farthing.adapters.webhook_http import HttpSender
from farthing.adapters.webhooks_sql import WebhookTable
from farthing.clock import Clock, system_clock
from farthing.domain.policy.load import PolicyError
from farthing.domain.policy.model import Policy
from farthing.domain.principals import MERCHANT_SCOPES, SCOPES, Principal
from farthing.domain.risk import velocity
from farthing.domain.risk.velocity import Velocity
from farthing.engine.committer import GroupCommitter
from farthing.engine.store import Store
from farthing.errors import ErrorCode, PlatformError
from farthing.services import policies
from farthing.services.accounts import Accounts
from farthing.services.allowances import Allowances
from farthing.services.amounts import positive_money
from farthing.services.channel_deadlines import ChannelDeadlines
from farthing.services.channels import Channels
from farthing.services.checkout import Checkout
from farthing.services.devices import Devices
from farthing.services.disputes import Disputes
from farthing.services.factors import Factors
from farthing.services.funding import ByMode, FundingGateway, TestGateway
from farthing.services.health import Health
from farthing.services.history import History
from farthing.services.holds import Holds
from farthing.services.idempotency import InFlight, Remembered
from farthing.services.keys import Keys
from farthing.services.ledger import open_ledger
from farthing.services.overrides import Overrides
from farthing.services.parties import Parties
from farthing.services.passkeys import Passkeys
from farthing.services.payment_policy import PaymentPolicy
from farthing.services.payments.batch import Batches
from farthing.services.payments.events import Decisions
from farthing.services.payments.legs import PaymentLegs
from farthing.services.payments.model import PaymentItem
from farthing.services.payments.single import Payments
from farthing.services.payouts import Payouts
from farthing.services.personal_data import PersonalData
from farthing.services.privacy import Privacy
from farthing.services.processor_events import SECRET_ENV as PROCESSOR_SECRET_ENV
from farthing.services.processor_events import ProcessorEvents
from farthing.services.reconciliation import Reconciliation
from farthing.services.refunds import Refunds
from farthing.services.risk import PROFILES_MAX as RISK_PROFILES_MAX
from farthing.services.risk import Risk
from farthing.services.risk_labels import RiskLabels
from farthing.services.security_log import SecurityLog
from farthing.services.stepup import StepUps
from farthing.services.tax import Tax
from farthing.services.topups import TopUps
from farthing.services.users import Users
from farthing.services.webhooks import Webhooks


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is who: the security log, sealed personal data, API keys, parties, people's sign-in."""

    log: SecurityLog
    personal: PersonalData
    keys: Keys
    parties: Parties
    factors: Factors
    passkeys: Passkeys
    users: Users


@dataclass(frozen=True, slots=True)
class Platform:
    """Every service of one Farthing, built once by `open_platform`; `close` closes them all."""

    clock: Clock
    ledger: GroupCommitter
    db: PlatformDb
    identity: Identity
    accounts: Accounts
    policy: PaymentPolicy
    decisions: Decisions
    in_flight: InFlight
    topups: TopUps
    holds: Holds
    step_ups: StepUps
    payments: Payments
    batches: Batches
    refunds: Refunds
    allowances: Allowances
    channels: Channels
    privacy: Privacy
    remembered: Remembered
    webhooks: Webhooks
    tax: Tax
    history: History
    checkout: Checkout
    payouts: Payouts
    _closing: ExitStack

    @property
    def keys(self) -> Keys:
        return self.identity.keys

    @property
    def risk(self) -> Risk:
        """The risk engine on the payment path (its profiles and model live in this process)."""
        assert self.payments.legs.risk is not None
        return self.payments.legs.risk

    @property
    def parties(self) -> Parties:
        return self.identity.parties

    @property
    def health(self) -> Health:
        return Health(self.ledger.engine.store, self.history, self.webhooks,
                      writer=getattr(self.ledger, "reachable", None))  # fmt: skip

    @property
    def channel_deadlines(self) -> ChannelDeadlines:
        return ChannelDeadlines(ChannelTable(self.db), self.ledger, self.clock)

    @property
    def processor_events(self) -> ProcessorEvents:
        return ProcessorEvents(self.log, os.environ.get(PROCESSOR_SECRET_ENV))

    @property
    def disputes(self) -> Disputes:
        return Disputes(DisputeTable(self.db), self.holds, self.refunds, self.accounts, self.ledger, self.clock,
                        self.risk_labels.from_dispute)  # fmt: skip

    @property
    def devices(self) -> Devices:
        """Devices that pay from their owner's wallet within its caps (signed requests: HTTP or MQTT)."""
        return Devices(DeviceTable(self.db), self.payments, self.identity.parties, self.clock, self.channels)

    @property
    def risk_labels(self) -> RiskLabels:
        """The review queue and labels (the risk engine's operator side)."""
        return RiskLabels(self.risk, self.holds, self.identity.log, self.clock)

    @property
    def reconciliation(self) -> Reconciliation:
        return Reconciliation(BankLineTable(self.db), self.payouts, self.clock)

    @property
    def log(self) -> SecurityLog:
        return self.identity.log

    def recover(self) -> dict[str, int]:
        """Rows the platform's tables lost in a crash between the ledger's commit and their insert, made again
        from the events the ledger wrote (payouts, disputes): how many of each."""
        return {"payouts": len(self.payouts.recover()), "disputes": len(self.disputes.recover())}

    def close(self) -> None:
        self._closing.close()


def _ledger(url: str | None, commit_wait_ms: float, clock: Clock, ledger_at: str | None) -> GroupCommitter:
    """The ledger in this process; or with `ledger_at`, the socket of the ledger's writer process, a
    `RemoteLedger` that sends it this process's requests (`serve --workers` on SQLite)."""
    if ledger_at is None:
        return open_ledger(url, wait_ms=commit_wait_ms, clock=clock)
    from farthing.engine.committer import tune_interpreter
    from farthing.services.ledger_remote import RemoteLedger

    tune_interpreter()  # the socket's reader thread hands answers over: it must get the interpreter soon
    store = open_store(url)
    try:
        return cast(GroupCommitter, RemoteLedger(ledger_at, store))  # the committer's surface, over a socket
    except BaseException:
        store.close()
        raise


def open_platform(
    url: str | None = None,
    policy_packs: Sequence[str] = (),
    commit_wait_ms: float = 1.0,
    keys_beside: str | None = None,
    clock: Clock = system_clock,
    gateway: FundingGateway | None = None,
    topup_guard: Velocity | str | None = "env",
    adjust: Callable[[Policy], Policy] | None = None,
    ledger_at: str | None = None,
) -> Platform:
    """The platform on the ledger at `url`: a running ledger, the platform tables, the test gateway (or
    `gateway`), and the named policy packs, each deciding the payments in its currency (two for one
    currency: refused). `commit_wait_ms`: how long the group committer waits for more requests to join a
    batch (0 for a caller that waits for each answer before it asks again, such as the simulator).
    `keys_beside`: where a master key is made when none is configured (default: beside the SQLite file,
    or `farthing.*` here). `clock`: the one clock of every service and the ledger (a
    `farthing.clock.ManualClock` in tests). Configured further by the environment: FARTHING_TOPUP_GUARD,
    FARTHING_WEBHOOK_BACKOFF_MS, FARTHING_CHANNEL_DISPUTE_MIN_S, FARTHING_RP_ID, FARTHING_ORIGIN, FARTHING_MAIL_DIR,
    FARTHING_RISK_PROFILES, FARTHING_STRIPE_SECRET_KEY (`_gateway`) and the key vault's; `topup_guard` (None: no
    guard) and `adjust` (each pack changed before use) are given by the policy lab; `ledger_at`: see `_ledger`."""
    by_currency = {code: adjust(p) if adjust else p for code, p in _packs(policy_packs).items()}
    guard = _topup_guard() if isinstance(topup_guard, str) else topup_guard
    closing = ExitStack()
    try:
        ledger = _ledger(url, commit_wait_ms, clock, ledger_at)
        closing.callback(ledger.close)
        store = ledger.engine.store
        db = PlatformDb(store)
        closing.callback(db.close)
        vault = KeyVault.from_env(beside=keys_beside or getattr(store, "path", None) or "farthing")
        identity = _identity(db, vault, clock)
        tax_bases = TaxBaseTable(db)
        policy = PaymentPolicy(by_currency, ledger, ScaEpochTable(db), tax_bases, Overrides(OverrideTable(db)))
        accounts = Accounts(ledger, WalletTable(db))
        decisions = Decisions(OutboxTable(db))
        in_flight = InFlight()
        challenges = ChallengeTable(db)
        holds = Holds(store, ledger, accounts, identity.parties, policy, decisions, clock, challenges.pending)
        closing.callback(holds.close)
        step_ups = StepUps(challenges, holds, identity.factors, identity.passkeys, policy, decisions, identity.log,
                           clock)  # fmt: skip
        risk = Risk(policies.load("platform").risk, RiskTable(db), clock, profiles_max=_risk_profiles())
        payments = Payments(PaymentLegs(accounts, identity.parties, policy, clock, step_ups, risk), ledger, store,
                            in_flight, step_ups)  # fmt: skip
        closing.callback(payments.close)
        channels = _channels(db, store, ledger, accounts, identity.parties, policy, in_flight, clock, risk)
        closing.callback(channels.close)
        backoff_ms = int(os.environ.get("FARTHING_WEBHOOK_BACKOFF_MS", "1000"))
        webhooks = Webhooks(WebhookTable(db), HttpSender(), clock_ms=clock, backoff_ms=backoff_ms)
        closing.callback(webhooks.close)
        history = History(store, StatementTable(PlatformDb(store, derived=True)))  # reads catch it up first
        closing.callback(history.close)
        allowances = Allowances(AllowanceTable(db), clock, identity.parties, payments)
        return Platform(
            clock, ledger, db, identity, accounts, policy, decisions, in_flight,
            TopUps(accounts, ledger, gateway or _gateway(), TopUpAttemptTable(db), identity.log, in_flight, clock,
                   guard, risk.topup_tried),
            holds, step_ups, payments, Batches(payments),
            Refunds(holds, ledger, policy, decisions, in_flight, clock, risk.merchant_event),
            allowances, channels,
            Privacy(PrivacyTable(db), identity.personal, identity.log, identity.keys, accounts, clock),
            Remembered(AnswerTable(db), clock, in_flight), webhooks,
            Tax(tax_bases, ledger, accounts, identity.parties, clock), history,
            Checkout(CheckoutTable(db), payments, holds, allowances, vault.derive("receipts v1"), clock),
            Payouts(PayoutTable(db), ledger, accounts, history, identity.personal, identity.log, clock), closing,
        )  # fmt: skip
    except BaseException:
        closing.close()
        raise


def _channels(
    db: PlatformDb, store: Store, ledger: GroupCommitter, accounts: Accounts, parties: Parties, policy: PaymentPolicy,
    in_flight: InFlight, clock: Clock, risk: Risk,
) -> Channels:  # fmt: skip
    """Payment channels, their shortest dispute window from FARTHING_CHANNEL_DISPUTE_MIN_S."""
    dispute_s_min = int(os.environ.get("FARTHING_CHANNEL_DISPUTE_MIN_S", str(limits.channel_dispute_s_min)))
    return Channels(ChannelTable(db), store, ledger, accounts, parties, policy, in_flight, clock, dispute_s_min,
                    risk.channel_event)  # fmt: skip


def _gateway() -> FundingGateway:
    """The test cards; with FARTHING_STRIPE_SECRET_KEY, Stripe for the mode of its key (sk_test_: test
    top-ups go to Stripe's test mode instead; sk_live_: live top-ups, the test cards kept for test money).
    FARTHING_STRIPE_API_BASE points it at another address (a local fake)."""
    key = os.environ.get("FARTHING_STRIPE_SECRET_KEY")
    if not key:
        return TestGateway()
    from farthing.adapters.stripe_gateway import StripeGateway  # Stripe's library loads in 0.4 s: only when used

    stripe = StripeGateway(key, os.environ.get("FARTHING_STRIPE_API_BASE"))
    return ByMode(TestGateway(), stripe) if stripe.modes == {"live"} else stripe


def _risk_profiles() -> int:
    """How many payers' (and merchants', networks') risk profiles are kept: FARTHING_RISK_PROFILES."""
    text = os.environ.get("FARTHING_RISK_PROFILES", str(RISK_PROFILES_MAX))
    if not text.isdigit() or int(text) < 1:
        raise PlatformError(ErrorCode.validation_failed, f"FARTHING_RISK_PROFILES: a count of payers, not {text!r}")
    return int(text)


def _topup_guard() -> Velocity | None:
    try:
        return velocity.parse(os.environ.get("FARTHING_TOPUP_GUARD", ""))
    except ValueError as exc:
        raise PlatformError(ErrorCode.validation_failed, f"FARTHING_TOPUP_GUARD: {exc}") from None


def _packs(names: Sequence[str]) -> Mapping[str, Policy]:
    """The named policy packs by the currency each decides (two for one currency: refused)."""
    by_currency: dict[str, Policy] = {}
    for pack in names:
        loaded = policies.load(pack)
        if loaded.currency in by_currency:
            raise PolicyError(
                f"pack {pack!r}", f"{by_currency[loaded.currency].id!r} already decides {loaded.currency} payments"
            )
        by_currency[loaded.currency] = loaded
    return by_currency


def _identity(db: PlatformDb, vault: KeyVault, clock: Clock) -> Identity:
    personal = PersonalData(PersonalTable(db), vault, clock)
    log = SecurityLog(SecurityEventTable(db), clock, personal.seal_event)
    keys = Keys(KeyTable(db), clock, log)
    parties = Parties(PartyTable(db), clock, keys, personal)
    factors, passkeys = Factors(FactorTable(db), clock, log), Passkeys(PasskeyTable(db), clock, log)
    users = Users(UserTable(db), clock, log, parties, personal)
    return Identity(log, personal, keys, parties, factors, passkeys, users)


def first_run(platform: Platform, demo: bool) -> list[str]:
    """Lines to show the operator at start: a new operator key if there is none, and with `demo` a
    merchant and a customer with $5.00 in their wallet, their keys, and how the customer signs in to the
    wallet pages."""
    lines = []
    keys, parties = platform.keys, platform.parties
    if not keys.has_operator_key():
        _, secret = keys.issue("operator", None, "test")
        lines.append(f"Operator key (shown once, keep it): {secret}")
    if demo:
        operator = Principal("bootstrap", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, merchant_key = parties.create(operator, "merchant", "Demo Daily")
        # The reader signs in to the wallet pages too: an account of its own each run (a new address).
        email, password = f"reader.{secrets.token_hex(3)}@demo.farthing.test", secrets.token_urlsafe(9)
        customer = platform.identity.users.sign_up(email, password, "Demo Reader").party_id
        assert customer is not None
        customer_key_id, customer_key = keys.issue("customer", customer, "test")
        payer = Principal(customer_key_id, "customer", customer, "test", frozenset(SCOPES["customer"].split()))
        platform.topups.top_up(payer, positive_money("5.00", "USD"), "4242424242424242")
        _demo_payout(platform, merchant, payer)
        staff_email, staff_password = f"staff.{secrets.token_hex(3)}@demo.farthing.test", secrets.token_urlsafe(9)
        platform.identity.users.add(operator, "merchant_staff", staff_email, staff_password, merchant)
        op_email, op_password = f"operator.{secrets.token_hex(3)}@demo.farthing.test", secrets.token_urlsafe(9)
        platform.identity.users.add(operator, "operator", op_email, op_password, None)
        lines += [
            f"Operator's console: sign in at /wallet/signin as {op_email} with the password {op_password}",
            f"Demo merchant's dashboard: sign in at /wallet/signin as {staff_email} with the password {staff_password}",
            f"Demo reader's wallet: sign in at /wallet as {email} with the password {password}",
            f"Pay the demo merchant out (it has a bank account and EUR 1.96): POST /v1/payouts "
            f'{{"currency": "EUR"}} with its key, then FARTHING_PAYOUT_DEBTOR=\'{DEMO_DEBTOR}\' '
            "farthing payouts file --out payouts.xml",
            f"Demo merchant {merchant}, key: {merchant_key}",  # the last two lines: `serve` reads the keys there
            f"Demo customer {customer} (wallet: 5.00 USD, 3.00 EUR), key: {customer_key}",
        ]
    return lines


DEMO_DEBTOR = "Farthing Demo|DE02120300000000202051|BYLADEM1001"
"""The demo's own bank account (an IBAN published for tests), the one its payouts leave from."""


def _demo_payout(platform: Platform, merchant: str, payer: Principal) -> None:
    """The demo merchant earns EUR 2.00 (1.96 after the fee) and has a bank account to be paid out to."""
    platform.topups.top_up(payer, positive_money("5.00", "EUR"), "4242424242424242")
    platform.payments.pay(payer, PaymentItem.of(merchant, "2.00", "EUR", reference="demo"), None)
    shop = Principal("bootstrap", "merchant", merchant, "test", MERCHANT_SCOPES)
    platform.payouts.set_account(shop, "Demo Daily Ltd", "DE89 3704 0044 0532 0130 00")
