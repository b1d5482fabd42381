"""The tests' HTTP calls: httpx's own `httpx.get`, `httpx.post`… (a client per call, so a fresh connection
and no cookie kept from one call to the next), handed one TLS context made once.

httpx builds a TLS context for every client it makes, loading the machine's certificate store: 31 ms a
call here, most of what a test's request to a local server cost (900 calls: 28 s of one test's 35 s).
The servers under test speak plain HTTP; where a test checks TLS it passes its own `verify`.

A call waits up to 30 s for its answer, not httpx's 5: the suite keeps both cores busy, and a server
starting a worker again after a kill answered a wallet read in more than 5 s there (a ReadTimeout in CI).
A test that checks how long something takes passes its own `timeout`."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

_TLS = ssl.create_default_context()


def request(method: str, url: str, **options: Any) -> httpx.Response:
    options.setdefault("verify", _TLS)
    options.setdefault("timeout", 30)
    return httpx.request(method, url, **options)


def get(url: str, **options: Any) -> httpx.Response:
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return request("POST", url, **options)


def put(url: str, **options: Any) -> httpx.Response:
    return request("PUT", url, **options)


def patch(url: str, **options: Any) -> httpx.Response:
    return request("PATCH", url, **options)


def delete(url: str, **options: Any) -> httpx.Response:
    return request("DELETE", url, **options)
