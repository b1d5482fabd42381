"""Webhook deliveries over HTTP (httpx): `farthing.services.webhooks.Sender`."""

from __future__ import annotations

import httpx


class HttpSender:
    def __init__(self, timeout_s: float = 5.0) -> None:
        self._http = httpx.Client(timeout=timeout_s)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """The answer's status, or None and what went wrong on the way."""
        try:
            return self._http.post(url, content=body, headers=headers).status_code, None
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]

    def close(self) -> None:
        self._http.close()
