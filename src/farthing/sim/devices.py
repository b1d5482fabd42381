"""The devices of a simulated world (a mixin of `farthing.sim.run`'s world; its state is the world's).

Each device pays a device service (a merchant) per use out of its owner's wallet (owners are the
consumers, in turn), in one of two ways (`[[devices]] pays`):

- `allowance`: the service charges the owner under a one-click allowance the owner granted (at most
  `per_day` a day and `total` in all); a use past it would wait for the owner's strong authentication,
  which nobody gives: it is refused (`device_capped`).
- `signed`: the device is registered to its owner with a key of its own and caps (`price` a payment,
  `per_day` a day, `total` a month, in the UTC calendar) and pays with signed requests
  (`farthing.services.devices`), in process or through the real MQTT gateway and HTTP API
  (`farthing.sim.device_link`). A payment past a cap is refused (`device_capped`); one the policy steps
  up waits for its owner (`device_waited`), who approves it with its TOTP code as it answers its own
  step-ups, or does not (no second factor, or the group's `abandon_on_challenge`).
"""

from __future__ import annotations

import random

from farthing import limits
from farthing.client.device import DeviceKey
from farthing.domain.devices import public_key
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.devices import Caps
from farthing.sim.agents import OPERATOR, REFUSALS, Consumer, Day, Device, poisson
from farthing.sim.device_link import Signed

CAPPED = (ErrorCode.device_cap_exceeded.value, ErrorCode.authentication_required.value)
"""A signed device's use refused at its owner's caps, or waiting for an owner who cannot approve."""


class DeviceUses:
    def _devices(self) -> list[Device]:
        """The scenario's devices, each given to its owner (the consumers in turn) and set up to pay."""
        allowances, devices = self.platform.allowances, []
        lasts_s = min((self.s.scenario.days + 1) * 86_400, limits.allowance_s_max)
        for g, spec in enumerate(self.s.devices):
            name = f"Sim device service {g}"
            service, key, _ = self.platform.parties.create(OPERATOR, "merchant", name, self.s.merchants[0].country)
            principal = Principal(key, "merchant", service, "test", MERCHANT_SCOPES)
            for _ in range(spec.count):
                owner: Consumer = self.consumers[len(devices) % len(self.consumers)]
                country = self.s.consumers[owner.group].country
                each, day, whole = (positive_money(v, self.cur.code) for v in (spec.price, spec.per_day, spec.total))
                rng = random.Random(f"{self.s.scenario.seed}:device:{len(devices)}")
                dev = Device(rng, owner, principal, "", spec.uses_per_day, self.cur.parse(spec.price))
                if spec.pays == "signed":
                    dev.key = DeviceKey(rng.randbytes(32))
                    caps, verify_key = Caps(each, day, whole), public_key(dev.key.public())
                    dev.id = self.platform.devices.register(
                        owner.principal, name, "meter", verify_key, caps, country
                    ).id
                else:
                    dev.allowance = allowances.grant(owner.principal, service, each, day, whole, lasts_s,
                                                     Evidence(ip=country)).id  # fmt: skip
                devices.append(dev)
        self.allowances = allowances
        return devices

    def _device_uses(self, day: Day) -> None:
        """Each device's uses this hour: charged by its service under the owner's allowance, or paid with
        the device's signed requests, all of the hour's at once."""
        signed: list[tuple[Device, Signed]] = []
        reserved: dict[int, int] = {}
        for dev in self.devices:
            for _ in range(poisson(dev.rng, dev.uses_per_day / 24)):
                if dev.key is not None:
                    held = reserved.get(id(dev.owner), 0) + dev.price
                    self._fund(day, dev.owner, held)
                    reserved[id(dev.owner)] = held
                    request = dev.key.request(
                        dev.id,
                        dev.service.party_id or "",
                        self.cur.format(dev.price),
                        self.cur.code,
                        self.now[0],
                        nonce=f"{self.now[0]}:{len(signed)}",
                    )
                    signed.append((dev, (dev.id, request)))  # fmt: skip
                    continue
                self._charge(day, dev)
        if signed:
            self._pay_signed(day, signed)

    def _charge(self, day: Day, dev: Device) -> None:
        owner = dev.owner
        self._fund(day, owner, dev.price)
        try:
            charged = self.allowances.charge(dev.service, dev.allowance, self.cur.format(dev.price), None, None)
        except PlatformError as refused:  # past the caps, and the owner has no second factor
            if refused.code not in REFUSALS:
                raise
            day.device_capped += 1
            return
        if not charged.within:  # it waits for the owner, who is not there: the use is refused
            self.holds.void(owner.principal, charged.payment.id)
            day.device_capped += 1
            return
        self._device_paid(day, dev)

    def _pay_signed(self, day: Day, signed: list[tuple[Device, Signed]]) -> None:
        """The hour's signed requests through the world's link, their answers taken in the order asked."""
        for (dev, _), answer in zip(signed, self.device_link.pay([s for _, s in signed]), strict=True):
            if answer.code is not None:
                if answer.code in CAPPED:
                    day.device_capped += 1
                elif answer.code in {c.value for c in REFUSALS}:
                    day.honest_refused += 1
                else:
                    raise PlatformError(ErrorCode(answer.code), f"a device's payment was refused: {answer.code}")
                continue
            assert answer.payment is not None
            if answer.status == "requires_authentication":
                day.device_waited += 1
                if self._step_up(day, dev.owner, answer.payment) is None:
                    continue
            self._device_paid(day, dev)

    def _device_paid(self, day: Day, dev: Device) -> None:
        dev.owner.balance -= dev.price
        day.payments += 1
        day.device_payments += 1
        day.value += dev.price
        self.hours[self._hour()] += 1
