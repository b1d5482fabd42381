"""Payment channels, pure: the terms a payer commits to, and the rules that accept a payment on them.

A channel locks a deposit from one payer for one merchant until it expires. Two forms pay on it:
signed cumulative vouchers (`vouchers`) and PayWord hash chains (`hashchain`). `rules.accept` decides
whether a payment is worth the price asked beyond the last one accepted: the same function serves the
merchant's paywall (verifying without calling the platform) and the platform's redemption.
"""
