"""Farthing: a self-hostable micropayment platform built on an exact, batched double-entry ledger."""

__version__ = "0.1.0"
