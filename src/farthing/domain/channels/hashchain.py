"""PayWord hash chains (Rivest and Shamir, 1996): the payer picks a secret `w_n` and commits to the root
`w_0 = H^n(w_n)` when it opens the channel; paying k units in all reveals `w_k`. Anyone holding the
last accepted element checks a new one with one SHA-256 per unit since: `H^(k-j)(w_k) == w_j`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

ELEMENT_BYTES = 32
LENGTH_MAX = 10_000_000
"""The longest chain a channel may commit to (verifying the whole of it is ~10 s of hashing)."""


@dataclass(frozen=True, slots=True)
class ChainPayment:
    channel_id: int
    index: int
    """How many units are paid in all."""
    element: bytes
    """`w_index`."""


def chain(secret: bytes, length: int) -> list[bytes]:
    """The payer's side: `[w_0, w_1, …, w_length]` from the secret `w_length` (keep it private)."""
    if len(secret) != ELEMENT_BYTES or not 0 < length <= LENGTH_MAX:
        raise ValueError(f"a chain needs a {ELEMENT_BYTES}-byte secret and a length in 1..{LENGTH_MAX}")
    elements = [secret]
    sha = hashlib.sha256
    for _ in range(length):
        elements.append(sha(elements[-1]).digest())
    elements.reverse()
    return elements


def leads_to(element: bytes, steps: int, known: bytes) -> bool:
    """True when hashing `element` `steps` times gives `known` (an element accepted before)."""
    if len(element) != ELEMENT_BYTES or steps < 0:
        return False
    sha = hashlib.sha256
    for _ in range(steps):
        element = sha(element).digest()
    return element == known
