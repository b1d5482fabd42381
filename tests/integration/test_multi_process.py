"""Several engine processes on one database: they take turns per batch and lose or double nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from farthing.adapters.open_store import open_store
from farthing.services.audit import verify

CHILD = Path(__file__).with_name("writer_child.py")
WORKERS = 3


def test_processes_sharing_a_hot_account_apply_each_transfer_once(store_url: str, tmp_path: Path) -> None:
    outs = [tmp_path / f"worker{i}.txt" for i in range(WORKERS)]
    children = [
        subprocess.Popen([sys.executable, str(CHILD), store_url, str(i), str(out)], stderr=subprocess.PIPE)
        for i, out in enumerate(outs)
    ]
    for child in children:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err.decode()
    seen: dict[int, list[str]] = {}
    for out in outs:
        for line in out.read_text().splitlines():
            tid, result = line.split()
            seen.setdefault(int(tid), []).append(result)
    shared = {tid: results for tid, results in seen.items() if tid < 1_000_000}
    assert len(shared) == 300
    for results in shared.values():
        assert sorted(results) == ["exists"] * (WORKERS - 1) + ["ok"], results
    own = {tid: r for tid, r in seen.items() if tid >= 1_000_000}
    assert len(own) == WORKERS * 600 and all(r == ["ok"] for r in own.values())

    store = open_store(store_url)
    try:
        report = verify(store)
        assert report.ok, report.problems
        hot = next(a for a in store.accounts() if a.id == 100)
        expected = 300 * 1_000 + WORKERS * 60 * sum(1 + k for k in range(10))
        assert hot.credits_posted == expected
        assert report.transfers == 300 + WORKERS * 600
    finally:
        store.close()
