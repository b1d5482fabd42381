"""The policy lab's device owners: devices registered to their owners pay with their own keys within the
owners' caps; under the eu-de pack a device's sixth payment in a row waits for its owner, who approves it
with a second factor (or cannot, and the device stops paying); and the same world driven through the
machine's Mosquitto, the real MQTT gateway and the HTTP API gives the same figures, day by day."""

from __future__ import annotations

from farthing.sim import run, scenario
from mosquitto import machine_broker

WORLD = """
[scenario]
name = "device-owners"
seed = 7
days = 3
currency = "EUR"
policies = ["eu-de"]

[payments]
top_up = "20.00"

[[consumers]]
count = 4
arrivals_per_day = 0.0
willingness_to_pay = "1.00"
mental_cost = "0.01"
abandon_on_challenge = 0.0
country = "DE"

[[merchants]]
count = 1
price = "0.50"
country = "DE"

[[devices]]
count = 4
uses_per_day = 24.0
price = "0.20"
per_day = "1.00"
total = "20.00"
pays = "signed"
"""


def _world(**changes: str) -> scenario.Scenario:
    return scenario.with_values(scenario.parse(WORLD), changes)


def test_signed_devices_pay_to_their_day_cap_and_wait_for_their_owners_approval() -> None:
    result = run.run(_world())
    days = result.days
    # Five payments of 0.20 fill a device's 1.00 a day; the rest of its 24-odd uses are refused at the cap.
    assert [d.device_payments for d in days] == [4 * 5] * 3, days
    assert all(d.device_capped > 0 for d in days)
    # The first day's five are exempt; from then on each device's sixth in a row waits for its owner, who
    # approves it (two uses in one hour may both find the count at five, and both wait).
    assert days[0].device_waited == 0 and all(d.device_waited >= 4 for d in days[1:]), days
    assert sum(d.abandoned for d in days) == 0 and sum(d.step_ups for d in days) == sum(d.device_waited for d in days)

    # Owners with no second factor cannot approve: each device's sixth payment is refused, and every one
    # after it (its counters never start again).
    unapproved = run.run(_world(**{"consumers[0].has_second_factor": "0"}))
    assert [d.device_payments for d in unapproved.days] == [20, 0, 0], unapproved.days
    assert sum(d.device_waited for d in unapproved.days) == 0


def test_the_world_through_the_mqtt_gateway_gives_the_same_figures() -> None:
    host, port = machine_broker()
    world = _world(**{"consumers[0].abandon_on_challenge": "0.5", "consumers[0].arrivals_per_day": "6.0"})
    in_process = run.run(world)
    through = run.run(world, broker=f"mqtt://{host}:{port}")
    assert in_process.totals["device_waited"] > 0 and in_process.totals["abandoned"] > 0
    assert through.days == in_process.days
    assert through.totals == in_process.totals
