"""HTTP 402 paywalls on payment channels: the merchant's middleware, the payer's client, redemption."""

from farthing.paywall.client import Budget, Client
from farthing.paywall.middleware import Paywall, parse_price, price
from farthing.paywall.redeem import Redeemed, redeem

__all__ = ["Budget", "Client", "Paywall", "Redeemed", "parse_price", "price", "redeem"]
