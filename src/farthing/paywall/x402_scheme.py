"""Farthing's channels as a scheme of the official `x402` Python client.

    from x402 import x402Client
    from x402.http.clients.httpx import x402HttpxClient

    x402 = x402Client()
    x402.register("farthing:*", X402Scheme(pay))  # pay: a farthing.paywall.Client (keys, budget, channels)
    x402.set_spend_controls({"allowed_assets": [{"network": "farthing:*", "asset": "USD"}]})
    async with x402HttpxClient(x402) as http:
        await http.get("http://127.0.0.1:8001/articles/1")

The x402 package is not a dependency of Farthing: this class only has the shape of its
`SchemeNetworkClient` protocol (a `scheme` and `create_payment_payload(requirements) -> dict`).
"""

from __future__ import annotations

from typing import Any

from farthing.paywall import wire
from farthing.paywall.client import Client


class OutsideBudget(Exception):
    """The payment asked for is not one this payer's budget allows."""


class X402Scheme:
    scheme = wire.SCHEME

    def __init__(self, client: Client) -> None:
        self.client = client

    def create_payment_payload(self, requirements: Any) -> dict[str, Any]:
        """The inner payload (a voucher or a chain element) paying `requirements` from a channel; x402
        wraps it with the requirement it accepted. The merchant stands for the host in the budget."""
        if hasattr(requirements, "model_dump"):
            requirement = requirements.model_dump(by_alias=True)
        else:
            requirement = dict(requirements)
        if not self.client.accepts(requirement):
            raise OutsideBudget(f"not a Farthing payment this payer makes: {requirement.get('network')!r}")
        payload = self.client.pay_for(requirement, str(requirement["payTo"]))
        if payload is None:
            raise OutsideBudget("the payment would pass the payer's budget")
        return payload
