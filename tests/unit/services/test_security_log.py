"""The security log seals a customer's personal data and keeps anyone else's in the detail."""

from __future__ import annotations

import json

from fakes import FakeSecurityEvents

from farthing.clock import ManualClock
from farthing.services.security_log import SecurityLog


def test_personal_data_is_sealed_for_customers_only() -> None:
    events, sealed_for = FakeSecurityEvents(), []

    def seal(subject: str, personal: object) -> bytes:
        sealed_for.append((subject, personal))
        return b"sealed"

    log = SecurityLog(events, ManualClock(5), seal)
    log.record("sign_in", "cus_1", None, personal={"ip": "203.0.113.7", "user_agent": None}, method="password")
    log.record("sign_in", None, None, personal={"ip": "198.51.100.9"}, email="unknown@example.test")
    [customer, stranger] = events.rows
    assert customer[5] == b"sealed" and json.loads(customer[4]) == {"method": "password"}
    assert sealed_for == [("cus_1", {"ip": "203.0.113.7"})]  # None fields are not kept at all
    assert stranger[5] is None and json.loads(stranger[4]) == {"email": "unknown@example.test", "ip": "198.51.100.9"}
    assert log.logged_since("cus_1", "sign_in", 5) and not log.logged_since("cus_1", "sign_in", 6)
