"""A device's side of a payment channel: it opened the channel with its key (`DeviceKey.request(…,
channel_s=…)`) and now pays by signing cumulative vouchers with the same key, each superseding the one
before, and publishing them to the merchant (`{root}/merchants/{merchant}/vouchers`), whose meter checks
them without calling Farthing (`farthing.iot.meter`).

    channel = VoucherPayer(key, opened)        # `opened`: the channel as the API answered it
    message = channel.pay("0.05")              # publish json.dumps(message); keep it to send again
"""

from __future__ import annotations

from typing import Any

from nacl.signing import SigningKey

from farthing.client.device import DeviceKey
from farthing.domain.channels import vouchers
from farthing.domain.channels.ids import channel_number
from farthing.domain.money import currency


class VoucherPayer:
    def __init__(self, key: DeviceKey, channel: dict[str, Any]) -> None:
        self.channel = str(channel["id"])
        self.currency = currency(str(channel["currency"]))
        self.deposit = self.currency.parse(str(channel["deposit"]))
        self._number = channel_number(self.channel)
        self._key = SigningKey(key.seed())
        self.paid = 0
        """Ledger units paid in all so far (the last voucher's cumulative amount)."""
        self.sequence = 0

    def pay(self, amount: str) -> dict[str, Any]:
        """The voucher paying `amount` more (a decimal string): the message to publish. Past the deposit,
        `ValueError`: open a new channel."""
        paid = self.paid + self.currency.parse(amount)
        if paid > self.deposit:
            raise ValueError(f"the channel's deposit of {self.currency.format(self.deposit)} is spent")
        voucher = vouchers.sign(self._key, self._number, paid, self.sequence + 1)
        self.paid, self.sequence = paid, voucher.sequence
        return {"channel": self.channel, "cumulative": self.currency.format(paid), "sequence": voucher.sequence,
                "signature": voucher.signature.hex()}  # fmt: skip
