"""The witness file: the journal's head, written after each commit somewhere the database's own loss
cannot take with it (see `farthing.domain.witness`).

Two fixed slots of 64 bytes; a batch goes to slot `batch_no % 2`, overwritten in place and fsynced
(`fdatasync`), so a write torn by a crash spoils one slot and the other still holds the batch before.
Each slot: a magic, the batch number, the last sequence number, the hash and a CRC-32 of those. The
head read back is the valid slot with the higher batch. Writers of several processes may share the file:
each records a batch it committed, so what is read is never ahead of the database it witnesses.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib

from farthing.domain.witness import Witnessed

_MAGIC = b"FTHWIT01"
_SLOT = struct.Struct(">8sQQ32sI")  # magic, batch_no, last_seq, hash, crc32
_SLOT_SIZE = 64


def _pack(w: Witnessed) -> bytes:
    body = struct.pack(">8sQQ32s", _MAGIC, w.batch_no, w.last_seq, w.hash)
    return (body + struct.pack(">I", zlib.crc32(body))).ljust(_SLOT_SIZE, b"\0")


def _unpack(raw: bytes) -> Witnessed | None:
    if len(raw) < _SLOT.size:
        return None
    magic, batch_no, last_seq, hash_, crc = _SLOT.unpack(raw[: _SLOT.size])
    if magic != _MAGIC or zlib.crc32(raw[: _SLOT.size - 4]) != crc:
        return None
    return Witnessed(batch_no, last_seq, hash_)


class WitnessFile:
    def __init__(self, path: str, durable: bool = True) -> None:
        """`durable`: fsync each record (off only for a store asked not to wait for the disk)."""
        self.path = path
        self.durable = durable
        self._fd: int | None = None
        self._lock = threading.Lock()

    def read(self) -> Witnessed | None:
        """The newest head recorded, or None when there is no witness yet."""
        try:
            with open(self.path, "rb") as f:
                raw = f.read(2 * _SLOT_SIZE)
        except FileNotFoundError:
            return None
        found = [w for w in (_unpack(raw[:_SLOT_SIZE]), _unpack(raw[_SLOT_SIZE:])) if w is not None]
        return max(found, key=lambda w: w.batch_no) if found else None

    def record(self, w: Witnessed) -> None:
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.pwrite(self._fd, _pack(w), (w.batch_no % 2) * _SLOT_SIZE)
            if self.durable:
                os.fdatasync(self._fd)

    def reset(self, w: Witnessed) -> None:
        """Both slots to `w`: the operator accepts the database's head as it is (after a restore)."""
        with self._lock:
            with open(self.path, "wb") as f:
                f.write(_pack(w) + _pack(w))
                f.flush()
                os.fsync(f.fileno())
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
