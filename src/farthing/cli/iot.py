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
