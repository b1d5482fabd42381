"""The paying client's channel file: its secrets round-trip (a voucher key, a hash chain from its seed),
it is its owner's alone, and what is expired, of another platform or of another currency is not read."""

from __future__ import annotations

import os
from pathlib import Path

from nacl.signing import SigningKey

from farthing.domain.channels import hashchain
from farthing.domain.channels.ids import public_channel_id
from farthing.paywall import client_state
from farthing.paywall.client import _Open

T0 = 1_797_166_800_000


def test_channels_round_trip_with_their_secrets(tmp_path: Path) -> None:
    seed = os.urandom(hashchain.ELEMENT_BYTES)
    chain = hashchain.chain(seed, 50)
    voucher = _Open(public_channel_id(1), 1, 10_000, SigningKey.generate(), paid=300, sequence=3, expires_ms=T0 + 1)
    chained = _Open(public_channel_id(2), 2, 50_000, None, chain, 1_000, 2_000, 2, T0 + 1, seed)
    old = _Open(public_channel_id(3), 3, 1, SigningKey.generate(), expires_ms=T0)
    path = tmp_path / "state" / "channels.json"
    records = {"mer_a": voucher.record("http://p", "USD"), "mer_b": chained.record("http://p", "USD"),
               "mer_c": old.record("http://p", "USD"), "mer_d": voucher.record("http://q", "USD"),
               "mer_e": voucher.record("http://p", "EUR")}  # fmt: skip
    client_state.save(path, records)
    assert path.stat().st_mode & 0o777 == 0o600
    kept = client_state.load(path, "http://p", "USD", T0)
    assert set(kept) == {"mer_a", "mer_b"}  # expired, other platform, other currency: not read
    again = _Open.of(kept["mer_a"])
    assert again.key is not None and bytes(again.key) == bytes(voucher.key)  # type: ignore[arg-type]
    assert (again.paid, again.sequence) == (300, 3)
    assert _Open.of(kept["mer_b"]).chain == chain  # the chain made again from its seed
    assert client_state.load(tmp_path / "none.json", "http://p", "USD", T0) == {}
