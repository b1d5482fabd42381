"""The wallet's card form when a card processor takes the top-ups: Stripe's own card field (Stripe.js, from
Stripe: PCI DSS wants its fields served by Stripe), so the card number goes to Stripe and this server
receives only the payment method Stripe made of it. The page's content security policy lets Stripe's script,
its frames (the card field, the 3-D Secure challenge) and its API in, and nothing else.

FARTHING_STRIPE_PUBLISHABLE_KEY (pk_…) turns it on; FARTHING_STRIPE_JS names the script (Stripe's v3 by
default; the tests' local fake)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from farthing.web.render import POLICY

STRIPE_JS = "https://js.stripe.com/v3/"


@dataclass(frozen=True)
class ProcessorPage:
    context: dict[str, Any] | None = None
    """For the template: the publishable key and the script's address (None: the test cards' form)."""
    headers: dict[str, str] = field(default_factory=dict)


def processor_page(takes: str | None) -> ProcessorPage:
    key = os.environ.get("FARTHING_STRIPE_PUBLISHABLE_KEY", "")
    if takes != "payment_method" or not key.startswith("pk_"):
        return ProcessorPage()
    script = os.environ.get("FARTHING_STRIPE_JS", STRIPE_JS)
    origin = "{0.scheme}://{0.netloc}".format(urlparse(script))
    policy = POLICY.replace("script-src 'self'", f"script-src 'self' {origin}")
    policy += f"; frame-src {origin} https://hooks.stripe.com; connect-src 'self' {origin} https://api.stripe.com"
    return ProcessorPage({"key": key, "script": script}, {"content-security-policy": policy})
