"""`farthing serve --tls-cert --tls-key` serves HTTPS itself: a client that trusts the certificate pays
over it, plain HTTP on that port gets no answer, and half a pair of files is refused at start."""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import calls
from served import free_port


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    import ipaddress

    # A window wide enough for any date the suite runs on (the calendar run moves Python's clock, not
    # OpenSSL's), fixed so that no test reads today's date.
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2099, 12, 31, tzinfo=dt.UTC))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_serve_answers_https_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "farthing.cli", "serve", "--db", f"sqlite:///{tmp_path}/ledger.db", "--port",
             str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        base = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                answer = calls.get(base + "/healthz", verify=ssl.create_default_context(cafile=cert), timeout=2)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.http_version == "HTTP/1.1"
        assert "Farthing on https://" in log.read_text()
        try:
            plain = calls.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            assert plain.status_code >= 400  # no answer a plain client could mistake for the API
        except httpx.HTTPError:
            pass  # the TLS listener drops a plain request: equally fine
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_half_a_certificate_pair_is_refused_at_start(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "farthing.cli", "serve", "--db", f"sqlite:///{tmp_path}/x.db", "--tls-cert", str(cert)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "needs both --tls-cert and --tls-key" in done.stdout, done.stdout + done.stderr
