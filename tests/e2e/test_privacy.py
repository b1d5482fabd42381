"""Personal data at rest over HTTP: sealed from the start, readable by the operator and the customer,
exported whole, refused when tampered with, and after erasure gone from every byte of the database
(the SQLite file and its WAL, or every PostgreSQL table dumped) while the audit still passes."""

from __future__ import annotations

import base64
import subprocess
import sys
import urllib.parse
from pathlib import Path

import calls

from .conftest import Server
from .helpers import auth, party, top_up

NAME, EMAIL = "Ada Zyxwvut-Lovelace", "ada.zyxwvut@example.test"


def database_bytes(server: Server) -> bytes:
    """Everything the database holds, as bytes: the SQLite files, or a dump of every table of the schema."""
    if server.db.startswith("sqlite:///"):
        path = Path(server.db.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    import psycopg

    url, _, query = server.db.partition("?")
    schema = urllib.parse.unquote(query).split("search_path=")[1]
    out = bytearray()
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))]  # fmt: skip
        for table in tables:
            with conn.cursor().copy(f'COPY "{schema}"."{table}" TO STDOUT') as copy:
                for block in copy:
                    out += bytes(block)
    return bytes(out)


def forms(text: str) -> list[bytes]:
    raw = text.encode()
    return [raw, raw.lower(), text.encode("utf-16-le"), base64.b64encode(raw), raw.hex().encode()]


def test_personal_data_is_sealed_exported_and_crypto_shredded(server: Server) -> None:
    merchant, _ = party(server, "merchant", "Shop")
    profile = {"name": NAME, "email": EMAIL, "phone": "+44 20 7946 0000", "address": "1 Byron Row"}
    headers = {**auth(server.operator), "Idempotency-Key": "ada"}
    made = calls.post(f"{server.base}/v1/customers", headers=headers, json=profile)
    assert made.status_code == 201 and made.json()["email"] == EMAIL, made.text
    customer, key = made.json()["id"], made.json()["api_key"]["secret"]
    replay = calls.post(f"{server.base}/v1/customers", headers=headers, json=profile)
    assert replay.status_code == 200 and replay.json()["name"] is None  # replays keep no personal data
    top_up(server, key, "5.00")
    paid = calls.post(f"{server.base}/v1/payments", json={"merchant": merchant, "amount": "0.25", "currency": "USD"},
                      headers=auth(key))  # fmt: skip
    assert paid.status_code == 201

    held = database_bytes(server)
    assert not any(f in held for f in forms(NAME) + forms(EMAIL)), "plaintext personal data in the database"
    seen = calls.get(f"{server.base}/v1/customers/{customer}", headers=auth(server.operator)).json()
    assert (seen["name"], seen["email"], seen["address"]) == (NAME, EMAIL, "1 Byron Row")
    own = calls.get(f"{server.base}/v1/customers/{customer}", headers=auth(key))
    assert own.json()["phone"] == "+44 20 7946 0000"
    _, stranger = party(server, "customer", "Someone else")
    assert calls.get(f"{server.base}/v1/customers/{customer}", headers=auth(stranger)).status_code == 404
    _, merchant_key = party(server, "merchant", "Curious merchant")
    assert calls.get(f"{server.base}/v1/customers/{customer}/export", headers=auth(merchant_key)).status_code == 404

    export = calls.get(f"{server.base}/v1/customers/{customer}/export", headers=auth(key)).json()
    assert export["customer"]["email"] == EMAIL
    [wallet] = export["wallets"]
    assert wallet["debits_posted"] == "0.25" and {t["type"] for t in wallet["transactions"]} >= {"topup", "payment"}
    assert any(k["id"] for k in export["api_keys"])

    erased = calls.delete(f"{server.base}/v1/customers/{customer}/personal-data", headers=auth(server.operator))
    assert erased.status_code == 200 and erased.json()["object"] == "erasure"
    gone = calls.get(f"{server.base}/v1/customers/{customer}", headers=auth(server.operator)).json()
    assert (gone["name"], gone["email"], gone["phone"]) == (None, None, None) and gone["erased_ms"]
    held = database_bytes(server)
    assert not any(f in held for f in forms(NAME) + forms(EMAIL))
    # The money is still there and still adds up.
    assert calls.get(f"{server.base}/v1/wallets/USD", headers=auth(key)).json()["debits_posted"] == "0.25"
    audit = subprocess.run([sys.executable, "-m", "farthing.cli", "audit", "verify", "--db", server.db],
                           capture_output=True, text=True, timeout=120, env=server.env)  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_a_tampered_ciphertext_is_refused(server: Server) -> None:
    made = calls.post(f"{server.base}/v1/customers", json={"name": "Grace", "email": "grace@example.test"},
                      headers=auth(server.operator)).json()  # fmt: skip
    customer = made["id"]
    if server.db.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(server.db.removeprefix("sqlite:///"))
        sealed = conn.execute("SELECT sealed FROM personal_data WHERE subject = ? AND field = 'email'",
                              (customer,)).fetchone()[0]  # fmt: skip
        flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
        conn.execute("UPDATE personal_data SET sealed = ? WHERE subject = ? AND field = 'email'", (flipped, customer))
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(server.db, autocommit=True) as conn:
            # One bit flipped (a byte overwritten with a constant was, once in 256 runs, that byte already).
            conn.execute("UPDATE personal_data SET sealed = set_byte(sealed, 20, get_byte(sealed, 20) # 1) "
                         "WHERE subject = %s AND field = 'email'", (customer,))  # fmt: skip
    r = calls.get(f"{server.base}/v1/customers/{customer}", headers=auth(server.operator))
    assert (r.status_code, r.json()["code"]) == (500, "personal_data_tampered"), r.text
