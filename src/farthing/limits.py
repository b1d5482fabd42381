"""Every named limit of Farthing, in one place, with their relations checked at import.

A leaf module like `farthing.errors`: every layer may import it. Units and qualifiers come last in
the names (`_max`, `_ms`, `_s`), so a reader never has to guess what a number counts.
"""

from __future__ import annotations

u128_max = 2**128 - 1
"""Ids, account ids and user data are unsigned 128-bit integers; 0 and u128_max are reserved."""

amount_max = 2**127 - 1
"""The largest amount of one transfer and of any balance column, in ledger minor units."""

ledger_max = 2**32 - 1
code_max = 2**16 - 1
timeout_s_max = 2**32 - 1

events_per_batch_max = 8190
"""The most events (accounts or transfers) one call may submit, and one committed batch may hold."""

events_per_commit_max = 8190
"""The most events the group committer coalesces into one database transaction."""

group_commit_wait_ms_max = 2
"""How long the committer waits for more callers before it commits what it has."""

request_queue_depth_max = 4096
"""Requests queued for the committer before callers block: back-pressure, never unbounded memory."""

pending_expiry_tick_ms = 1000
"""How often an idle engine expires pending transfers whose timeout has passed."""

ledger_scale_max = 18
"""The most decimal places a ledger may keep below the major unit."""

ledger_scale_default = 6
"""Default decimal places below the major unit: $0.000001 is one unit of a USD ledger."""

request_bytes_max = 4 * 1024 * 1024
"""The largest HTTP request body the API reads (a full batch of payments fits well within it)."""

idempotency_key_length_max = 255

hold_s_default = 7 * 24 * 3600
"""How long a hold (a payment made with capture=false) lasts unless captured or voided first."""

hold_s_max = 31 * 24 * 3600

webhook_attempts_max = 20
"""The most delivery attempts an endpoint may ask for per event (with doubling backoff: days)."""

page_size_max = 100
"""The most lines one page of a wallet's transactions holds."""

timestamp_ms_max = 253_402_300_799_999
"""The last millisecond of the year 9999: the latest moment a query may name."""

payments_per_batch_max = 8000
"""The most payments one `POST /v1/payments/batch` may hold (each is two ledger transfers with its fee)."""

device_requests_per_batch_max = 1000
"""The most signed device requests one `POST /v1/devices/payments/batch` may hold (what the MQTT gateway
gathered in a few milliseconds)."""

payments_chunk_events = 1024
"""Many payments at once go to the ledger in chunks of about this many transfers, each submitted as soon
as it is prepared: the ledger writes one while the next is prepared (`Platform.pay_many`)."""

channel_dispute_s_default = 24 * 3600
"""How long after a channel expires (or its payer asks to close it) the merchant may still redeem."""

channel_dispute_s_min = 3600
"""The shortest dispute window a channel may be opened with (`FARTHING_CHANNEL_DISPUTE_MIN_S` changes it,
never below `channel_dispute_s_floor`): a paywall learns of a payer's close within seconds, and must
still have time to redeem what it accepted before it knew (x402's batch-settlement scheme asks 15
minutes to 30 days)."""

channel_dispute_s_floor = 15 * 60
"""The least `FARTHING_CHANNEL_DISPUTE_MIN_S` may be set to."""

key_overlap_s_max = 7 * 24 * 3600
"""How long a rolled API key may keep working beside its successor."""

allowance_s_max = 366 * 24 * 3600
"""The longest an allowance (a payer's one-click mandate for a merchant) may last."""

payment_header_bytes_max = 8 * 1024
"""The largest x402 payment header a paywall reads (proxies often refuse headers past 8 KB)."""

assert 0 < hold_s_default <= hold_s_max <= timeout_s_max
assert 0 < amount_max < u128_max
assert 0 < events_per_commit_max <= 8190
assert 0 < events_per_batch_max <= events_per_commit_max
assert 0 < payments_chunk_events <= events_per_batch_max
assert 0 < group_commit_wait_ms_max <= 2
assert ledger_scale_default <= ledger_scale_max
