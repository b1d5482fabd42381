"""The paying client's channels, kept across runs: a reader that comes back the next day pays from the
channel it opened yesterday instead of locking a new deposit each time.

The file holds each open channel's secret (a voucher channel's signing key, a hash chain's seed), so it is
written only by its owner (mode 0600, replaced atomically) and written before each payment is sent: what
it says was paid is never less than what was signed, so a channel reused after a crash never signs a
cumulative amount twice. Channels past their expiry, or that the platform no longer shows open, are
dropped when it is read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from farthing.domain.channels import hashchain

VERSION = 1


def load(path: Path, platform_url: str, currency_code: str, now_ms: int) -> dict[str, dict[str, Any]]:
    """merchant -> the channel kept for it (this platform and currency, not expired)."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: not a channel file this client knows (version {data.get('version')!r})")
    kept = data.get("channels", {}).items()
    return {m: c for m, c in kept if (c["platform"], c["currency"]) == (platform_url, currency_code)
            and c["expires_ms"] > now_ms}  # fmt: skip


def save(path: Path, channels: dict[str, dict[str, Any]]) -> None:
    """Every channel kept, in place of the file's (atomically, readable by its owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"version": VERSION, "channels": channels}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def key_of(record: dict[str, Any]) -> SigningKey | None:
    return SigningKey(bytes.fromhex(record["key"])) if record.get("key") else None


def chain_of(record: dict[str, Any]) -> list[bytes]:
    if not record.get("seed"):
        return []
    return hashchain.chain(bytes.fromhex(record["seed"]), int(record["length"]))
