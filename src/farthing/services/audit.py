"""Verify a ledger's journal chain and balances from its store (`farthing audit verify`)."""

from __future__ import annotations

from farthing.domain.audit import AuditReport, audit
from farthing.engine.store import Store


def verify(store: Store) -> AuditReport:
    head = store.head()
    return audit(store.journal(), store.events(), (head.batch_no, head.last_seq, head.hash), store.accounts())
