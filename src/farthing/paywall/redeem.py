"""Turn the payments a paywall accepted into money: each channel's highest voucher or chain element is
sent to the platform (`POST /v1/channels/{id}/redeem`) as one ledger transfer. Safe to run at any
time and again: a redemption already made answers the same and moves nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from farthing.domain.channels.rules import Form
from farthing.domain.money import currency
from farthing.paywall.store import ChannelBook


@dataclass(frozen=True, slots=True)
class Redeemed:
    channel: str
    amount: str
    """Paid to the merchant by this run, before the platform's fee."""
    fee: str
    status: str


def redeem(
    store: str, platform_url: str, api_key: str, close: bool = False, transport: httpx.BaseTransport | None = None,
    close_expired_at: int | None = None,
) -> list[Redeemed]:  # fmt: skip
    """Redeem every channel in the paywall's `store` with something new (and with `close`, close them). A
    store that does not exist is refused (a wrong path would otherwise redeem nothing, and say so calmly).
    With `close_expired_at` (Unix ms), the channels whose expiry has come by then are closed too."""
    if not Path(store).is_file():
        raise FileNotFoundError(f"no paywall store at {store!r}: give the path the paywall's `store=` names, "
                                "from where the paywalled app runs")  # fmt: skip
    book = ChannelBook(store)
    done = []
    try:
        with httpx.Client(base_url=platform_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"},
                          transport=transport, timeout=30) as http:  # fmt: skip
            for known in book.all():
                fresh = known.accepted.amount > known.redeemed
                closing = close or (close_expired_at is not None and known.terms.expires_ms <= close_expired_at)
                if known.closed or not (fresh or closing):
                    continue
                body: dict[str, Any] = {"close": closing}
                if fresh and known.terms.form is Form.voucher:
                    cumulative = currency(known.currency).format(known.accepted.amount)
                    body["voucher"] = {"cumulative": cumulative, "sequence": known.accepted.sequence,
                                       "signature": known.accepted.proof.hex()}  # fmt: skip
                elif fresh:
                    body["chain"] = {"index": known.accepted.sequence, "element": known.accepted.proof.hex()}
                r = http.post(f"/v1/channels/{known.id}/redeem", json=body)
                if r.status_code != 200:
                    done.append(Redeemed(known.id, "0", "0", f"refused: {r.json().get('code', r.status_code)}"))
                    continue
                answer = r.json()
                channel = answer["channel"]
                units = currency(known.currency).parse(channel["redeemed"])
                book.redeemed(known.id, units, channel["redeemed_sequence"], channel["status"] == "closed")
                done.append(Redeemed(known.id, answer["amount"], answer["fee"], channel["status"]))
    finally:
        book.close()
    return done
