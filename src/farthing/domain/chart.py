"""The platform's chart of accounts: the code of each kind of ledger account and of each kind of transfer."""

from __future__ import annotations

# Account codes.
CODE_FUNDING_CLEARING, CODE_CARD_FEES, CODE_FEE_REVENUE, CODE_CUSTOMER, CODE_MERCHANT = 1, 2, 3, 10, 20
CODE_TAX_LIABILITY, CODE_ROUNDING = 4, 5
# Transfer codes.
T_TOPUP, T_CARD_FEE, T_PAYMENT, T_PLATFORM_FEE, T_REFUND, T_CHANNEL = 1, 2, 3, 4, 5, 6
T_ROUNDING, T_TAX, T_ADDED_TAX, T_ADDED_TAX_REFUND = 7, 8, 9, 10
"""A tax return's rounding residue, the tax a merchant remits, tax added to a price, and its refund."""
