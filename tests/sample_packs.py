"""Policy packs the tests share: a VAT-only EUR pack and a shop's override of the Korean pack's cap."""

VAT_ONLY = """
[pack]
id = "vat-only"
extends = ["platform"]
currency = "EUR"
timezone = "Europe/Berlin"

[tax]
id = "vat"
kind = "vat"
inclusive = true
evidence_required = 2
rates = { DE = "19" }
source = "Directive 2006/112/EC Art. 58 (a test pack: VAT and the platform fee, no SCA counters)"
"""

SHOP_OVERRIDE = """
[pack]
id = "shop"
merchant_override = true

[[limits]]
id = "kr.micropayment.monthly"
period = "month"
max = "300000"
currency = "KRW"
when = { age_band = ["adult"] }
source = "the shop's own cap"
"""
