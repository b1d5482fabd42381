"""Payouts at scale, on SQLite in a temporary folder: a payout run for every merchant (their payments
netted into one payout each, booked in ledger batches), the SEPA file of all of them written and checked
against pain.001.001.09, and one merchant's monthly statement streamed as CSV with its peak memory.

Issue 20's targets on this machine: payouts for 100,000 merchants with 10 M payments in <= 60 s, the bank
file for 100,000 payouts in <= 30 s, a statement of 1 M lines in <= 10 s with flat memory. The payments
are booked straight into the engine (a payment's transfer and its fee, as the services book them; the
setup is not timed). `--merchants`, `--payments` and `--statement-lines` change the sizes; `--quick`
runs small ones in under 30 s; `--json` prints one JSON object on the last line.
"""

from __future__ import annotations

import os
import sys

# bench/http.py shadows the standard library's `http` package, which httpx imports: run as a script, take
# this folder off the import path first.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import datetime
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from farthing.bootstrap import Platform, open_platform
from farthing.domain.chart import (
    CODE_FEE_REVENUE,
    CODE_FUNDING_CLEARING,
    T_PAYMENT,
    T_PLATFORM_FEE,
    T_TOPUP,
)
from farthing.domain.ledger_types import Transfer, TransferFlags
from farthing.domain.money import currency
from farthing.domain.payouts import Terms
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.engine.ids import new_id
from farthing.services.statements import csv_rows, statement

OPERATOR = Principal("bench", "operator", None, "test", frozenset({"parties:write", "read"}))
EUR = currency("EUR")
IBAN = "DE89 3704 0044 0532 0130 00"
DEBTOR = "Farthing Bench|DE02120300000000202051|BYLADEM1001"
BATCH = 4_000


def _merchants(platform: Platform, n: int) -> list[tuple[str, int]]:
    """`n` merchants with a bank account and a daily schedule: (id, EUR wallet)."""
    out = []
    for i in range(n):
        merchant, key, _ = platform.parties.create(OPERATOR, "merchant", f"Shop {i}")
        shop = Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES)
        platform.payouts.set_account(shop, f"Shop {i}", IBAN)
        platform.payouts.set_terms(shop, "EUR", Terms("daily"))
        out.append((merchant, platform.accounts.wallet_account(merchant, "merchant", EUR)))
    return out


def _pay(platform: Platform, merchants: list[tuple[str, int]], payments: int, heavy: int) -> None:
    """`payments` of 0.01 EUR (each with its 2 % fee) spread over the merchants; `heavy` more to the first."""
    customer, _, _ = platform.parties.create(OPERATOR, "customer", "Payer")
    wallet = platform.accounts.wallet_account(customer, "customer", EUR)
    clearing = platform.accounts.platform_account(CODE_FUNDING_CLEARING, EUR, "test")
    revenue = platform.accounts.platform_account(CODE_FEE_REVENUE, EUR, "test")
    total = payments + heavy
    platform.ledger.create_transfers([Transfer(new_id(), clearing, wallet, total * 10_000, EUR.ledger, T_TOPUP)])
    linked = int(TransferFlags.linked)
    todo = [merchants[i % len(merchants)][1] for i in range(payments)] + [merchants[0][1]] * heavy
    for start in range(0, len(todo), BATCH // 2):
        legs = []
        for account in todo[start : start + BATCH // 2]:
            legs.append(Transfer(new_id(), wallet, account, 10_000, EUR.ledger, T_PAYMENT, flags=linked))
            legs.append(Transfer(new_id(), account, revenue, 200, EUR.ledger, T_PLATFORM_FEE))
        results = platform.ledger.create_transfers(legs)
        assert all(r.name == "ok" for r in results), {r.name for r in results}


def _statement(platform: Platform, merchant: str) -> tuple[float, int, int]:
    """Seconds to stream the merchant's month as CSV, its lines, and the peak memory it took (bytes)."""
    shop = Principal("bench", "merchant", merchant, "test", MERCHANT_SCOPES)
    platform.history.catch_up()
    month = datetime.datetime.fromtimestamp(platform.clock() // 1000, datetime.UTC).strftime("%Y-%m")
    started = time.perf_counter()
    lines = sum(text.count("\n") for text in csv_rows(statement(platform.history, platform.accounts, shop, "EUR",
                                                               month, platform.clock())))  # fmt: skip
    took = time.perf_counter() - started
    tracemalloc.start()  # a second pass, traced (tracing slows Python: it is not the one timed)
    for _ in csv_rows(statement(platform.history, platform.accounts, shop, "EUR", month, platform.clock())):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return took, lines - 3, peak  # less the header, the opening and the closing rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--merchants", type=int, default=None)
    parser.add_argument("--payments", type=int, default=None)
    parser.add_argument("--statement-lines", type=int, default=None, help="payments to the first merchant")
    args = parser.parse_args()
    merchants_n = args.merchants or (1_000 if args.quick else 100_000)
    payments_n = args.payments or (50_000 if args.quick else 2_000_000)
    heavy_n = args.statement_lines or (25_000 if args.quick else 500_000)
    folder = Path(tempfile.mkdtemp(prefix="farthing-payouts-"))
    started = time.perf_counter()
    # Durable commits as everywhere, except during the untimed setup's hundred thousand small writes:
    # the timed steps run on a platform opened again with the default (synchronous=FULL).
    platform = open_platform(f"sqlite:///{folder}/ledger.db?synchronous=NORMAL")
    try:
        merchants = _merchants(platform, merchants_n)
        _pay(platform, merchants, payments_n, heavy_n)
    finally:
        platform.close()
    setup_s = time.perf_counter() - started
    platform = open_platform(f"sqlite:///{folder}/ledger.db")
    try:
        started = time.perf_counter()
        made = platform.payouts.run_due()
        run_s = time.perf_counter() - started
        assert len(made) == merchants_n, (len(made), merchants_n)

        started = time.perf_counter()
        _, xml = platform.payouts.bank_file(OPERATOR, DEBTOR, datetime.date(2026, 12, 7))
        file_s = time.perf_counter() - started

        statement_s, lines, peak = _statement(platform, merchants[0][0])
    finally:
        platform.close()
    figures = {"merchants": merchants_n, "payments": payments_n + heavy_n, "setup_s": round(setup_s, 1),
               "payout_run_s": round(run_s, 2), "payouts_per_s": round(merchants_n / run_s),
               "bank_file_s": round(file_s, 2), "bank_file_bytes": len(xml), "statement_lines": lines,
               "statement_s": round(statement_s, 2), "statement_lines_per_s": round(lines / statement_s),
               "statement_peak_mib": round(peak / 2**20, 2)}  # fmt: skip
    print(f"payout run: {merchants_n:,} merchants ({payments_n + heavy_n:,} payments netted) in {run_s:.2f} s "
          f"({figures['payouts_per_s']:,}/s; target: 100,000 in <= 60 s)")  # fmt: skip
    print(f"bank file: {merchants_n:,} payouts, {len(xml):,} bytes, written and schema-checked in {file_s:.2f} s "
          "(target: 100,000 in <= 30 s)")  # fmt: skip
    print(f"statement: {lines:,} lines streamed in {statement_s:.2f} s, peak {peak / 2**20:.1f} MiB of Python "
          "memory (target: 1 M lines in <= 10 s, flat memory)")  # fmt: skip
    print(f"(setup, not timed: {setup_s:.0f} s)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
