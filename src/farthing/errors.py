"""The one catalogue of Farthing's result and error codes.

Every way a request can fail has one stable, snake_case code named for the rule it enforces. The
engine returns them as per-event results, the CLI maps them to exit codes, and the HTTP API (later)
to RFC 9457 problem+json. This module is a leaf: it imports nothing of Farthing, so every layer,
`domain/` included, may use it.

The two enums are ordered by precedence, as TigerBeetle orders its results: when an event breaks
several rules, the first one in declaration order is the one reported.

Exception tree::

    FarthingError            (code: str, a member of ErrorCode)
    ├── BatchError           the batch as a whole is unusable (empty, too large, wrong types)
    └── StoreError           the store failed or is not what the engine expects
"""

from __future__ import annotations

import enum


class TransferResult(enum.IntEnum):
    """Outcome of one transfer in a batch, in order of precedence."""

    ok = 0
    linked_event_failed = 1
    linked_event_chain_open = 2
    id_must_not_be_zero = 3
    id_must_not_be_int_max = 4
    id_out_of_range = 5
    flags_are_mutually_exclusive = 6
    flags_unknown = 7
    # An id seen before: the transfer is idempotent, never applied twice.
    exists_with_different_flags = 10
    exists_with_different_pending_id = 11
    exists_with_different_timeout = 12
    exists_with_different_debit_account_id = 13
    exists_with_different_credit_account_id = 14
    exists_with_different_amount = 15
    exists_with_different_user_data = 16
    exists_with_different_ledger = 17
    exists_with_different_code = 18
    exists = 19
    # Shape of the transfer itself.
    debit_account_id_must_not_be_zero = 20
    credit_account_id_must_not_be_zero = 21
    account_id_out_of_range = 22
    accounts_must_be_different = 23
    pending_id_must_be_zero = 24
    pending_id_must_not_be_zero = 25
    pending_id_must_be_different = 26
    timeout_reserved_for_pending_transfer = 27
    timeout_out_of_range = 28
    ledger_must_not_be_zero = 29
    code_must_not_be_zero = 30
    user_data_out_of_range = 31
    amount_must_be_positive = 32
    amount_exceeds_max = 33
    ledger_out_of_range = 34
    code_out_of_range = 35
    # Against the state of the ledger.
    debit_account_not_found = 40
    credit_account_not_found = 41
    accounts_must_have_the_same_ledger = 42
    transfer_must_have_the_same_ledger_as_accounts = 43
    debit_account_closed = 44
    credit_account_closed = 45
    pending_transfer_not_found = 50
    pending_transfer_not_pending = 51
    pending_transfer_has_different_debit_account_id = 52
    pending_transfer_has_different_credit_account_id = 53
    pending_transfer_has_different_ledger = 54
    pending_transfer_has_different_code = 55
    exceeds_pending_transfer_amount = 56
    pending_transfer_has_different_amount = 57
    pending_transfer_already_posted = 58
    pending_transfer_already_voided = 59
    pending_transfer_expired = 60
    overflows_debits_pending = 70
    overflows_credits_pending = 71
    overflows_debits_posted = 72
    overflows_credits_posted = 73
    exceeds_credits = 80
    exceeds_debits = 81

    def transient(self) -> bool:
        """True when retrying the same transfer later can succeed (balances or state may change)."""
        return self in _TRANSIENT_TRANSFER


_TRANSIENT_TRANSFER = frozenset(
    {
        TransferResult.debit_account_not_found,
        TransferResult.credit_account_not_found,
        TransferResult.pending_transfer_not_found,
        TransferResult.exceeds_credits,
        TransferResult.exceeds_debits,
        TransferResult.linked_event_failed,
    }
)


class AccountResult(enum.IntEnum):
    """Outcome of creating one account, in order of precedence."""

    ok = 0
    linked_event_failed = 1
    linked_event_chain_open = 2
    id_must_not_be_zero = 3
    id_must_not_be_int_max = 4
    id_out_of_range = 5
    flags_are_mutually_exclusive = 6
    flags_unknown = 7
    ledger_must_not_be_zero = 8
    code_must_not_be_zero = 9
    user_data_out_of_range = 10
    ledger_out_of_range = 11
    code_out_of_range = 12
    exists_with_different_flags = 20
    exists_with_different_user_data = 21
    exists_with_different_ledger = 22
    exists_with_different_code = 23
    exists = 24

    def transient(self) -> bool:
        return False


class ErrorCode(enum.StrEnum):
    """Codes for errors that reject a whole request rather than one event of it."""

    batch_must_not_be_empty = "batch_must_not_be_empty"
    batch_too_large = "batch_too_large"
    event_type_invalid = "event_type_invalid"
    amount_invalid = "amount_invalid"
    amount_float_not_allowed = "amount_float_not_allowed"
    amount_too_precise = "amount_too_precise"
    currency_unknown = "currency_unknown"
    currency_mismatch = "currency_mismatch"
    database_url_invalid = "database_url_invalid"
    store_schema_too_new = "store_schema_too_new"
    store_unavailable = "store_unavailable"
    ledger_unavailable = "ledger_unavailable"
    outcome_unknown = "outcome_unknown"
    storage_full = "storage_full"
    store_rolled_back = "store_rolled_back"
    witness_off = "witness_off"
    engine_closed = "engine_closed"
    engine_failed = "engine_failed"
    journal_chain_broken = "journal_chain_broken"
    # The HTTP API's own (problem+json `code`).
    internal_error = "internal_error"
    unauthenticated = "unauthenticated"
    forbidden = "forbidden"
    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    validation_failed = "validation_failed"
    malformed_json = "malformed_json"
    request_too_large = "request_too_large"
    unsupported_media_type = "unsupported_media_type"
    insufficient_funds = "insufficient_funds"
    payment_refused = "payment_refused"
    card_declined = "card_declined"
    card_authentication_required = "card_authentication_required"
    idempotency_key_reused = "idempotency_key_reused"
    payment_not_capturable = "payment_not_capturable"
    payment_already_captured = "payment_already_captured"
    payment_canceled = "payment_canceled"
    hold_expired = "hold_expired"
    amount_exceeds_hold = "amount_exceeds_hold"
    refund_exceeds_payment = "refund_exceeds_payment"
    refund_conflict = "refund_conflict"
    idempotency_key_invalid = "idempotency_key_invalid"
    page_invalid = "page_invalid"
    # The policy engine's.
    policy_invalid = "policy_invalid"
    policy_denied = "policy_denied"
    authentication_required = "authentication_required"
    refund_window_closed = "refund_window_closed"
    withdrawal_not_allowed = "withdrawal_not_allowed"
    idempotency_key_in_flight = "idempotency_key_in_flight"
    # Payment channels and paywalls.
    channel_mismatch = "channel_mismatch"
    channel_closed = "channel_closed"
    channel_expired = "channel_expired"
    voucher_signature_invalid = "voucher_signature_invalid"
    voucher_stale = "voucher_stale"
    voucher_exceeds_deposit = "voucher_exceeds_deposit"
    chain_element_invalid = "chain_element_invalid"
    payment_insufficient = "payment_insufficient"
    payment_header_invalid = "payment_header_invalid"
    # Security: second factors and step-up.
    authentication_failed = "authentication_failed"
    factor_already_confirmed = "factor_already_confirmed"
    challenge_expired = "challenge_expired"
    challenge_locked = "challenge_locked"
    key_vault_invalid = "key_vault_invalid"
    personal_data_tampered = "personal_data_tampered"
    rate_limited = "rate_limited"
    topups_paused = "topups_paused"
    live_mode_unavailable = "live_mode_unavailable"
    # Hosted checkout.
    receipt_invalid = "receipt_invalid"
    checkout_expired = "checkout_expired"
    checkout_paid = "checkout_paid"
    return_url_refused = "return_url_refused"
    account_locked = "account_locked"
    csrf_failed = "csrf_failed"
    # Payouts.
    payouts_unavailable = "payouts_unavailable"
    payout_settled = "payout_settled"
    statement_imported = "statement_imported"
    # Disputes.
    dispute_exceeds_payment = "dispute_exceeds_payment"
    dispute_closed = "dispute_closed"
    processor_unavailable = "processor_unavailable"
    # Risk.
    already_labelled = "already_labelled"
    # Devices that pay.
    device_request_invalid = "device_request_invalid"
    device_signature_invalid = "device_signature_invalid"
    device_request_stale = "device_request_stale"
    device_paused = "device_paused"
    device_revoked = "device_revoked"
    device_cap_exceeded = "device_cap_exceeded"
    # The policy lab.
    scheduler_unreachable = "scheduler_unreachable"

    def transient(self) -> bool:
        return self in (ErrorCode.store_unavailable, ErrorCode.ledger_unavailable)


class FarthingError(Exception):
    """Base of every error Farthing raises on purpose; `code` is stable, `detail` is for people."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code.value}: {detail}")
        self.code = code
        self.detail = detail


class BatchError(FarthingError):
    """The batch as a whole was refused before any event of it was looked at; nothing changed."""


class StoreError(FarthingError):
    """The store failed, or holds a schema or chain the engine cannot work with."""


STORAGE_FULL = (
    "the database's disk is full: nothing was changed; reads still work, and writes do again once space is freed"
)
"""What a write refused for want of disk space says, on either store."""


class PlatformError(FarthingError):
    """A request a service refuses; `code` says why and maps to an HTTP status."""


__all__ = [
    "AccountResult",
    "BatchError",
    "ErrorCode",
    "FarthingError",
    "PlatformError",
    "StoreError",
    "TransferResult",
]
