"""A local stand-in for Stripe's API, for the `StripeGateway`'s tests: the PaymentIntents endpoints a
manual-capture top-up uses, answered as Stripe's API reference documents them (form-encoded requests,
JSON objects, a card error as HTTP 402, an Idempotency-Key replaying the first answer), and every
request's shape checked: what Stripe would refuse is answered 400 and listed in `problems`.

Payment methods behave as Stripe's test ones: `pm_card_visa` is authorised, `pm_card_chargeDeclined` is
declined, `pm_card_authenticationRequired` asks for 3-D Secure (`authenticate` completes it).

For pages, `/v3/` serves a stand-in for Stripe.js with the calls the wallet's script makes: a card field
(a plain input here, where Stripe's is an iframe) whose text is taken as the payment method's id,
`createPaymentMethod`, and `handleNextAction`, which passes the challenge (`POST /test/authenticate`)."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

STRIPE_JS = """
window.Stripe = function (key) {
  let field = null;
  return {
    elements() {
      return { create() { return { mount(where) {
        field = document.createElement("input");
        field.setAttribute("aria-label", "Card (Stripe)");
        document.querySelector(where).appendChild(field);
      } }; } };
    },
    async createPaymentMethod() {
      if (!key.startsWith("pk_") || !field.value.startsWith("pm_")) {
        return { error: { message: "Your card number is incomplete." } };
      }
      return { paymentMethod: { id: field.value } };
    },
    async handleNextAction(asked) {
      const url = "BASE/test/authenticate?client_secret=" + encodeURIComponent(asked.clientSecret);
      const r = await fetch(url, { method: "POST" });
      return r.ok ? { paymentIntent: { status: "requires_capture" } } : { error: { message: "The challenge failed." } };
    },
  };
};
"""
_CREATE = {"amount", "currency", "payment_method", "capture_method", "confirm", "metadata[topup]"}


class FakeStripe:
    def __init__(self) -> None:
        self.intents: dict[str, dict[str, object]] = {}
        self.replies: dict[str, tuple[int, dict[str, object]]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                fake._answer(self, "GET", {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                fake._answer(self, "POST", form)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def authenticate(self, intent_id: str) -> None:
        """The payer passed the card's 3-D Secure challenge."""
        with self.lock:
            self.intents[intent_id]["status"] = "requires_capture"
            self.intents[intent_id]["next_action"] = None

    def _answer(self, h: BaseHTTPRequestHandler, method: str, form: dict[str, str]) -> None:
        path = urlparse(h.path).path
        if path == "/v3/":
            self._send(h, 200, STRIPE_JS.replace("BASE", self.url).encode(), "application/javascript")
            return
        if path == "/test/authenticate":
            secret = parse_qs(urlparse(h.path).query).get("client_secret", [""])[0]
            found = [i for i in self.intents.values() if i["client_secret"] == secret]
            if found:
                self.authenticate(str(found[0]["id"]))
            self._send(h, 200 if found else 404, b"{}", "application/json")
            return
        with self.lock:
            self.requests.append((method, path, form))
            if not (h.headers.get("Authorization") or "").startswith("Bearer sk_test_"):
                status, body = self._problem("no test secret key in Authorization: Bearer")
            elif method == "POST" and h.headers.get("Idempotency-Key") in self.replies:
                status, body = self.replies[h.headers["Idempotency-Key"]]
            else:
                status, body = self._route(method, path, form, urlparse(h.path).query)
                if method == "POST" and h.headers.get("Idempotency-Key"):
                    self.replies[h.headers["Idempotency-Key"]] = (status, body)
        self._send(h, status, json.dumps(body).encode(), "application/json")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, data: bytes, kind: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Access-Control-Allow-Origin", "*")  # the page's script calls it, as Stripe.js calls Stripe
        h.end_headers()
        h.wfile.write(data)

    def _problem(self, message: str) -> tuple[int, dict[str, object]]:
        self.problems.append(message)
        return 400, {"error": {"type": "invalid_request_error", "message": message}}

    def _route(self, method: str, path: str, form: dict[str, str], query: str) -> tuple[int, dict[str, object]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "payment_intents"]:
            return self._create(form)
        if method == "GET" and parts == ["v1", "payment_intents", "search"]:
            wanted = parse_qs(query).get("query", [""])[0]
            found = [i for i in self.intents.values() if f"'{i['metadata']['topup']}'" in wanted]  # type: ignore[index]
            return 200, {"object": "search_result", "data": found, "has_more": False, "url": path}
        if len(parts) >= 3 and parts[:2] == ["v1", "payment_intents"] and parts[2] in self.intents:
            intent = self.intents[parts[2]]
            if method == "GET" and len(parts) == 3:
                return 200, intent
            if method == "POST" and parts[3:] == ["capture"]:
                if intent["status"] != "requires_capture":
                    return self._problem(f"capture of a {intent['status']} intent")
                intent["status"] = "succeeded"
                return 200, intent
            if method == "POST" and parts[3:] == ["cancel"]:
                intent["status"] = "canceled"
                return 200, intent
        return self._problem(f"no such route: {method} {path}")

    def _create(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        missing = _CREATE - set(form)
        if missing:
            return self._problem(f"missing {sorted(missing)}")
        if not form["amount"].isdigit() or (int(form["amount"]) < 50 and form["currency"] in ("eur", "usd")):
            return self._problem(f"amount {form['amount']!r}: a whole number of minor units, at least 50 cents")
        if form["currency"] != form["currency"].lower() or len(form["currency"]) != 3:
            return self._problem(f"currency {form['currency']!r}: three lowercase letters")
        if (form["capture_method"], form["confirm"]) != ("manual", "true"):
            return self._problem("a top-up is confirmed at once and captured by hand")
        if form["payment_method"] == "pm_card_chargeDeclined":
            return 402, {"error": {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                                   "message": "Your card was declined."}}  # fmt: skip
        intent_id = "pi_" + secrets.token_hex(12)
        challenged = form["payment_method"] == "pm_card_authenticationRequired"
        intent: dict[str, object] = {
            "id": intent_id, "object": "payment_intent", "amount": int(form["amount"]), "currency": form["currency"],
            "capture_method": "manual", "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "metadata": {"topup": form["metadata[topup]"]}, "payment_method": form["payment_method"],
            "status": "requires_action" if challenged else "requires_capture",
            "next_action": {"type": "use_stripe_sdk"} if challenged else None,
        }  # fmt: skip
        self.intents[intent_id] = intent
        return 200, intent
