"""A device owner's calls (`Farthing.devices`): register a device with its public key and caps, list the
owner's devices with what each spent, pause, resume or revoke one; and a device's signed request paid over
HTTP (`farthing.client.device.DeviceKey` makes it; the MQTT gateway does the same for devices on a
broker)."""

from __future__ import annotations

from collections.abc import Sequence

from farthing.client.calls import Call, Resource, _given, many, one, replayable
from farthing.client.models import Device, Payment


class Devices(Resource):
    def register(
        self, *, name: str, kind: str, public_key: str, currency: str, per_payment: str, per_day: str,
        per_month: str, merchants: Sequence[str] | None = None, country: str | None = None,
    ) -> Device:  # fmt: skip
        """A device of the caller's (customer key), active at once: `public_key` as the device shows it,
        its caps a payment, a UTC day and a month, the merchants it may pay (none: any), and where it is
        installed (a VAT pack needs it, beside the owner's billing country)."""
        body = _given(name=name, kind=kind, public_key=public_key, currency=currency, per_payment=per_payment,
                      per_day=per_day, per_month=per_month, merchants=list(merchants) if merchants else None,
                      country=country)  # fmt: skip
        return self._run(Call("POST", "/v1/devices", one(Device), body))

    def list(self) -> list[Device]:
        return self._run(Call("GET", "/v1/devices", many(Device)))

    def retrieve(self, device_id: str) -> Device:
        return self._run(Call("GET", f"/v1/devices/{device_id}", one(Device)))

    def pause(self, device_id: str) -> Device:
        """Its requests refused from the next one on, until resumed."""
        return self._run(Call("POST", f"/v1/devices/{device_id}/pause", one(Device)))

    def resume(self, device_id: str) -> Device:
        return self._run(Call("POST", f"/v1/devices/{device_id}/resume", one(Device)))

    def revoke(self, device_id: str) -> Device:
        """Refused for good."""
        return self._run(Call("POST", f"/v1/devices/{device_id}/revoke", one(Device)))

    def pay(self, envelope: dict[str, str]) -> Payment:
        """A device's signed request (`DeviceKey.request`): the payment, `replayed` when the same request
        was paid before; one the policy steps up comes back `requires_authentication`, for its owner."""
        return self._run(Call("POST", "/v1/devices/payments", replayable(Payment), envelope))
