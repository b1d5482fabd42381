"""`farthing iot …`: devices that pay over MQTT."""

from __future__ import annotations

from typing import Annotated

import typer

iot_app = typer.Typer(help="Devices that pay over MQTT.", no_args_is_help=True)


@iot_app.command("gateway")
def gateway_command(
    broker: Annotated[str, typer.Option(help="mqtt://[user:password@]host[:port], or mqtts:// for TLS")] = (
        "mqtt://127.0.0.1:1883"
    ),
    api: Annotated[str, typer.Option(help="the Farthing server devices pay through")] = "http://127.0.0.1:8402",
    root: Annotated[str, typer.Option(help="the topics' root: devices publish on {root}/devices/{id}/pay")] = (
        "farthing/v1"
    ),
    ca_file: Annotated[str | None, typer.Option(help="the broker's CA certificate, for mqtts://")] = None,
    client_id: Annotated[str, typer.Option(help="the gateway's MQTT client id (its session on the broker)")] = (
        "farthing-gateway"
    ),
) -> None:
    """Serve devices on the broker: each signed request published on {root}/devices/{id}/pay is paid
    through the API and answered on the request's response topic, until interrupted."""
    from farthing.iot.gateway import Gateway

    try:
        gateway = Gateway(broker, api, root, client_id, ca_file=ca_file, announce=lambda said: typer.echo(said))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"farthing gateway: {broker} -> {api}, devices publish on {root}/devices/<id>/pay")
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        gateway.stop()


@iot_app.command("meter")
def meter_command(
    merchant: Annotated[str, typer.Option(help="the merchant the vouchers pay (mer_…)")],
    key: Annotated[str, typer.Option(envvar="FARTHING_MERCHANT_KEY", help="the merchant's API key (sk_…)")],
    broker: Annotated[str, typer.Option(help="mqtt://[user:password@]host[:port], or mqtts:// for TLS")] = (
        "mqtt://127.0.0.1:1883"
    ),
    api: Annotated[str, typer.Option(help="the Farthing server the vouchers are redeemed at")] = (
        "http://127.0.0.1:8402"
    ),
    root: Annotated[
        str, typer.Option(help="the topics' root: vouchers come on {root}/merchants/{merchant}/vouchers")
    ] = ("farthing/v1"),
    store: Annotated[str, typer.Option(help="the meter's book of channels (SQLite; a paywall's may be shared)")] = (
        "farthing-meter.db"
    ),
    redeem_every: Annotated[float, typer.Option(help="seconds between redemptions")] = 60.0,
    ca_file: Annotated[str | None, typer.Option(help="the broker's CA certificate, for mqtts://")] = None,
) -> None:
    """A merchant's meter: vouchers devices publish on their payment channels, checked here without a call
    to Farthing, kept on disk, answered, and redeemed every --redeem-every seconds and on exit (Ctrl-C or
    SIGTERM)."""
    import signal
    import threading

    from farthing.iot.meter import Meter

    try:
        meter = Meter(broker, api, merchant, key, store, root, redeem_every, ca_file=ca_file)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    meter.start()
    meter.ready.wait(30)
    typer.echo(f"farthing meter: vouchers for {merchant} on {meter.topic}, kept in {store}")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())  # as a service manager stops it
    try:
        while not stopping.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    for r in meter.stop():
        typer.echo(f"redeemed {r.channel}: {r.amount} (fee {r.fee}), {r.status}")
