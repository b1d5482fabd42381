"""The platform's chart of accounts: the code of each kind of ledger account and of each kind of transfer."""

from __future__ import annotations

# Account codes.
CODE_FUNDING_CLEARING, CODE_CARD_FEES, CODE_FEE_REVENUE, CODE_CUSTOMER, CODE_MERCHANT = 1, 2, 3, 10, 20
CODE_TAX_LIABILITY, CODE_ROUNDING, CODE_PAYOUT_CLEARING, CODE_DISPUTE_CLEARING, CODE_DISPUTE_LOSSES = 4, 5, 6, 7, 8
PLATFORM_ACCOUNTS = {
    CODE_FUNDING_CLEARING: "funding_clearing",
    CODE_CARD_FEES: "card_fees",
    CODE_FEE_REVENUE: "fee_revenue",
    CODE_TAX_LIABILITY: "tax_liability",
    CODE_ROUNDING: "rounding",
    CODE_PAYOUT_CLEARING: "payouts_clearing",
    CODE_DISPUTE_CLEARING: "disputes_clearing",
    CODE_DISPUTE_LOSSES: "dispute_losses",
}
"""The platform's own accounts (one per currency) by code, with the names an operator reads them by."""
# Transfer codes.
T_TOPUP, T_CARD_FEE, T_PAYMENT, T_PLATFORM_FEE, T_REFUND, T_CHANNEL = 1, 2, 3, 4, 5, 6
T_ROUNDING, T_TAX, T_ADDED_TAX, T_ADDED_TAX_REFUND = 7, 8, 9, 10
"""A tax return's rounding residue, the tax a merchant remits, tax added to a price, and its refund."""
T_PAYOUT = 11
"""A payout: held (pending) from the merchant's wallet to the payouts clearing account, posted when the bank
paid it, voided when the bank returned it."""
T_DISPUTE, T_DISPUTE_LOST = 12, 13
"""A dispute: its amount held (pending) from the merchant's wallet, and from the platform's dispute losses for
what the wallet could not cover, into the disputes clearing account; posted and paid back to the payer
(`T_DISPUTE_LOST`, from the clearing account) when it is lost, voided when it is won."""
T_PAYOUT_RETURN = 14
"""A payout the bank returned after it was paid: from the payouts clearing account back to the merchant's
wallet (a payout returned before it was paid is voided instead)."""
