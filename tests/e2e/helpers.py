"""Small helpers of the end-to-end tests: keys, parties and balances over HTTP."""

from __future__ import annotations

import time
import uuid

import httpx

import calls
from farthing.services.keys import KEY_CACHE_MS

from .conftest import Server


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def party(srv: Server, kind: str, name: str) -> tuple[str, str]:
    r = calls.post(f"{srv.base}/v1/{kind}s", json={"name": name}, headers=auth(srv.operator))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("mer_" if kind == "merchant" else "cus_")
    return body["id"], body["api_key"]["secret"]


def wallet(srv: Server, key: str) -> dict[str, str]:
    r = calls.get(f"{srv.base}/v1/wallets", headers=auth(key))
    assert r.status_code == 200, r.text
    [wallet] = r.json()
    return wallet


def balances(srv: Server, key: str) -> dict[str, tuple[str, str, str]]:
    """Balances by currency; a wallet not opened yet holds nothing (a refused payment may open one empty)."""
    r = calls.get(f"{srv.base}/v1/wallets", headers=auth(key))
    assert r.status_code == 200, r.text
    held = {w["currency"]: (w["available"], w["credits_posted"], w["debits_posted"]) for w in r.json()}
    return {cur: bal for cur, bal in held.items() if bal != ("0.00", "0.00", "0.00")}


def top_up(srv: Server, key: str, amount: str) -> dict[str, str]:
    """Fund a customer's USD wallet with the test card that always succeeds; the top-up as answered."""
    r = calls.post(
        f"{srv.base}/v1/topups",
        json={"amount": amount, "currency": "USD", "card_number": "4242424242424242"},
        headers=auth(key),
    )
    assert r.status_code == 201, r.text
    answer: dict[str, str] = r.json()
    return answer


def signed_in_payer(srv: Server, password: str = "correct horse battery staple") -> tuple[httpx.Client, str]:
    """A payer who opened an account and signed in over the API, as a browser would hold it: a client with
    its session cookie (close it), and the session's CSRF token."""
    email = f"payer-{uuid.uuid4().hex[:8]}@example.test"
    made = calls.post(f"{srv.base}/v1/auth/signup", json={"email": email, "password": password, "name": "P"})
    assert made.status_code == 201, made.text
    http = httpx.Client(base_url=srv.base, timeout=30)
    signed = http.post("/v1/auth/signin", json={"email": email, "password": password})
    assert signed.status_code == 200, signed.text
    return http, signed.json()["csrf_token"]


def signed_in_operator(srv: Server, password: str = "correct horse battery staple") -> tuple[httpx.Client, str]:
    """An operator's user, made with the operator's key and signed in: a client holding its session (close
    it) and the session's CSRF token."""
    email = f"op-{uuid.uuid4().hex[:8]}@example.test"
    user = {"role": "operator", "email": email, "password": password}
    made = calls.post(f"{srv.base}/v1/users", json=user, headers=auth(srv.operator))
    assert made.status_code == 201, made.text
    http = httpx.Client(base_url=srv.base, timeout=30)
    signed = http.post("/v1/auth/signin", json={"email": email, "password": password})
    assert signed.status_code == 200, signed.text
    return http, signed.json()["csrf_token"]


def revocation_known(srv: Server) -> None:
    """Wait until a key revoked is refused by every server process: at once with one; with `--workers`,
    once another process's memory of the key is older than KEY_CACHE_MS."""
    if srv.workers > 1:
        time.sleep(KEY_CACHE_MS / 1000)
