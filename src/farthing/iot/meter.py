"""A merchant's meter on the broker: devices pay it with vouchers on their payment channels, published on
`{root}/merchants/{merchant}/vouchers`; the meter checks each one locally (the channel's terms, read once
from Farthing, and the device's signature: `farthing.domain.channels.rules.accept`), keeps the highest
on disk before it answers, and redeems what it accepted in batches (`POST /v1/channels/{id}/redeem`,
one ledger transfer per channel however many vouchers it took).

    device -> broker: {root}/merchants/{merchant}/vouchers  {"channel": "ch_…", "cumulative": "0.30",
                                                             "sequence": 3, "signature": "<hex>"}
    meter -> broker:  the response topic, with the correlation data:
                      {"status": 200, "channel": "ch_…", "accepted": "0.30", "paid": "0.10", "sequence": 3}
                      or {"status": 402, "problem": {"code": "voucher_stale", "detail": …}}

A voucher delivered twice (QoS 1) is answered the same and counted once: the one accepted last is
answered again with `"replayed": true`. The book is the paywall's (`farthing.paywall.store`): a meter and
a paywall of one merchant may share it, and `farthing paywall redeem` redeems it too.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from farthing.clock import Clock, system_clock
from farthing.domain.channels import rules
from farthing.domain.channels.rules import ChannelRefused, Form
from farthing.domain.channels.vouchers import Voucher
from farthing.domain.money import currency
from farthing.errors import ErrorCode, FarthingError
from farthing.iot.gateway import ROOT, broker, mqtt_client
from farthing.paywall.redeem import Redeemed, redeem
from farthing.paywall.store import ChannelBook, Known, terms_of


class Meter:
    def __init__(
        self, broker_url: str, api: str, merchant: str, api_key: str, store: str, root: str = ROOT,
        redeem_every_s: float = 60.0, ca_file: str | None = None, clock: Clock = system_clock,
    ) -> None:  # fmt: skip
        self.broker = broker(broker_url)
        self.api, self.merchant, self.api_key, self.store = api, merchant, api_key, store
        self.topic = f"{root}/merchants/{merchant}/vouchers"
        self.book = ChannelBook(store)
        self.http = httpx.Client(base_url=api, timeout=30, headers={"Authorization": f"Bearer {api_key}"})
        self.clock = clock
        self.redeem_every_s = redeem_every_s
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._redeemer = threading.Thread(target=self._redeem_loop, name="meter-redeem", daemon=True)
        c = mqtt_client(self.broker, f"farthing-meter-{merchant}", ca_file)
        c.on_connect = lambda client, *_: client.subscribe(self.topic, qos=1)
        c.on_subscribe = lambda *_: self.ready.set()
        c.on_message = self._message
        self.client = c

    def start(self) -> None:
        keep = Properties(PacketTypes.CONNECT)
        keep.SessionExpiryInterval = 3_600
        self.client.connect(self.broker.host, self.broker.port, keepalive=30, clean_start=False, properties=keep)
        self.client.loop_start()
        self._redeemer.start()

    def stop(self) -> list[Redeemed]:
        """Stop taking vouchers and redeem what was accepted."""
        self.client.disconnect()
        self.client.loop_stop()
        self._stop.set()
        if self._redeemer.is_alive():
            self._redeemer.join()
        done = self.redeem()
        self.http.close()
        self.book.close()
        return done

    def redeem(self) -> list[Redeemed]:
        """Every channel with vouchers not yet redeemed, redeemed (one transfer each)."""
        return redeem(self.store, self.api, self.api_key)

    def _redeem_loop(self) -> None:
        while not self._stop.wait(self.redeem_every_s):
            try:
                self.redeem()
            except (httpx.HTTPError, OSError):  # the platform is away: the vouchers wait in the book
                continue

    def _message(self, client: mqtt.Client, _: Any, msg: mqtt.MQTTMessage) -> None:
        """Check and keep the voucher, then answer (the broker has it acknowledged once this returns)."""
        answer = self.take(bytes(msg.payload))
        props = getattr(msg, "properties", None)
        topic = getattr(props, "ResponseTopic", None)
        if topic:
            out = Properties(PacketTypes.PUBLISH)
            correlation = getattr(props, "CorrelationData", None)
            if correlation is not None:
                out.CorrelationData = correlation
            client.publish(topic, json.dumps(answer, separators=(",", ":")), qos=1, properties=out)

    def take(self, payload: bytes) -> dict[str, Any]:
        """The meter's answer to one voucher message, the voucher kept on disk first when accepted."""
        try:
            message = json.loads(payload)
            channel = str(message["channel"])
            known = self.book.find(channel) or self._learn(channel)
            cur = currency(known.currency)
            signature = bytes.fromhex(str(message["signature"]))
            voucher = Voucher(known.terms.channel_id, cur.parse(str(message["cumulative"])), int(message["sequence"]),
                              signature)  # fmt: skip
        except FarthingError as exc:
            return {"status": 402, "problem": {"code": str(exc.code), "detail": exc.detail}}
        except (ValueError, KeyError, TypeError, RecursionError):
            said = 'a voucher is {"channel": …, "cumulative": …, "sequence": …, "signature": hex}'
            return {"status": 422, "problem": {"code": str(ErrorCode.validation_failed), "detail": said}}
        last = known.accepted
        if (voucher.sequence, voucher.cumulative, signature) == (last.sequence, last.amount, last.proof):
            return _accepted(known, cur.format(0), replayed=True)
        if known.closed:
            return {
                "status": 402,
                "problem": {"code": str(ErrorCode.channel_closed), "detail": "the channel is closed"},
            }
        try:
            accepted = rules.accept(known.terms, last, voucher, self.clock())
        except ChannelRefused as refused:
            return {"status": 402, "problem": {"code": str(refused.code), "detail": refused.detail}}
        self.book.keep_now(channel, accepted)
        return _accepted(dataclasses.replace(known, accepted=accepted), cur.format(accepted.amount - last.amount))

    def _learn(self, channel: str) -> Known:
        """The channel's terms, from Farthing, once: it must be open, to this merchant, paid by vouchers."""
        r = self.http.get(f"/v1/channels/{channel}")
        if r.status_code == 404:
            raise FarthingError(ErrorCode.channel_mismatch, "no open channel to this merchant has that id")
        if r.status_code != 200:
            raise FarthingError(ErrorCode.outcome_unknown, f"Farthing answered {r.status_code}: send it again")
        body = r.json()
        if body["merchant"] != self.merchant or body["status"] != "open" or body["form"] != Form.voucher:
            raise FarthingError(ErrorCode.channel_closed, "the channel is not an open voucher channel to this meter")
        return self.book.learn(channel, body["customer"], body["currency"], terms_of(channel, body))


def _accepted(known: Known, paid: str, replayed: bool = False) -> dict[str, Any]:
    cur = currency(known.currency)
    return {"status": 200, "channel": known.id, "accepted": cur.format(known.accepted.amount), "paid": paid,
            "sequence": known.accepted.sequence, "replayed": replayed}  # fmt: skip
