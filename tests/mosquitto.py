"""A Mosquitto broker of the test's own, on a free port (never the machine's: tests kill and restart it),
with what production needs when asked: TLS from a CA made here, a password per client, an ACL file; and
the machine's own broker, for tests that only publish and subscribe (`machine_broker`)."""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from served import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
VALID_FROM = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
VALID_UNTIL = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
MACHINE_BROKER = ("127.0.0.1", 1883)


def machine_broker() -> tuple[str, int]:
    """The machine's Mosquitto (host, port): a failure under CI when it does not answer, else a skip."""
    try:
        socket.create_connection(MACHINE_BROKER, timeout=2).close()
    except OSError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Mosquitto is required under CI on {MACHINE_BROKER}: {exc}")
        pytest.skip(f"no MQTT broker on {MACHINE_BROKER}: {exc}")
    return MACHINE_BROKER


@dataclass(frozen=True, slots=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path) -> Tls:
    """A CA and a server certificate for 127.0.0.1 signed by it, valid from 2000 to 2100: no clock is read
    (the calendar pass moves the tests' clock, never OpenSSL's)."""

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())  # fmt: skip

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("farthing test CA")).issuer_name(name("farthing test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(VALID_FROM).not_valid_after(VALID_UNTIL)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))  # fmt: skip
    server = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
              .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(VALID_FROM).not_valid_after(VALID_UNTIL)
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))  # fmt: skip
    tls = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(pem(server_key))
    return tls


class Broker:
    """`mosquitto -c` on a free port, its messages persisted in `folder` (a restart keeps the sessions
    and the messages queued for them)."""

    def __init__(
        self, folder: Path, tls: Tls | None = None, passwords: dict[str, str] | None = None, acl: str | None = None
    ) -> None:
        self.folder, self.port = folder, free_port()
        lines = [f"user {getpass.getuser()}", f"listener {self.port} 127.0.0.1", "persistence true",
                 f"persistence_location {folder}/", "max_queued_messages 100000",
                 f"log_dest file {folder}/mosquitto.log"]  # fmt: skip
        if tls is not None:
            lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
        if passwords is not None:
            password_file = folder / "passwords"
            password_file.write_text("")
            for user, password in passwords.items():
                subprocess.run([MOSQUITTO_PASSWD, "-b", str(password_file), user, password], check=True)
            lines += [f"password_file {password_file}", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        if acl is not None:
            (folder / "acl").write_text(acl)
            lines.append(f"acl_file {folder / 'acl'}")
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        for path in folder.iterdir():  # mosquitto refuses files others may read
            path.chmod(0o600)
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = self.folder / "mosquitto.log"
                    said = log.read_text() if log.exists() else ""
                    raise RuntimeError(f"mosquitto did not start: {said}") from None
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: the broker saves its sessions and queued messages first; SIGKILL: as a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None
