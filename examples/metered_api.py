"""A metered JSON API: every call to `/api/…` costs $0.0005, priced by a rule table; `/health` is free.
Payers may pay with vouchers or with a PayWord hash chain (one hash per $0.0005 to check).

    python examples/metered_api.py --platform http://127.0.0.1:8402 --merchant mer_… --key sk_test_… --port 8002
"""

from __future__ import annotations

import argparse
import hashlib
import os

import uvicorn
from fastapi import FastAPI

from farthing.paywall import Paywall


def build(platform: str, merchant: str, key: str, store: str, network: str = "farthing:local") -> FastAPI:
    app = FastAPI(title="Metered hashing API")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/sha256")
    def sha256(text: str = "") -> dict[str, str]:
        return {"text": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}

    @app.get("/api/length")
    def length(text: str = "") -> dict[str, object]:
        return {"text": text, "length": len(text)}

    redeem_s = float(os.environ.get("FARTHING_PAYWALL_REDEEM_S", "600"))  # the channels redeemed by themselves
    app.add_middleware(Paywall, platform_url=platform, merchant=merchant, api_key=key, store=store, network=network,
                       redeem_every_s=redeem_s,
                       rules={"/api/*": "0.0005 USD"}, description="one API call")  # fmt: skip
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", default=os.environ.get("FARTHING_URL", "http://127.0.0.1:8402"))
    parser.add_argument("--merchant", default=os.environ.get("FARTHING_MERCHANT"))
    parser.add_argument("--key", default=os.environ.get("FARTHING_MERCHANT_KEY"))
    parser.add_argument("--store", default="paywall-api.db", help="where accepted payments are kept")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    if not args.merchant or not args.key:
        parser.error("name the merchant and its API key (--merchant, --key; `farthing serve --demo` prints them)")
    uvicorn.run(build(args.platform, args.merchant, args.key, args.store), host="127.0.0.1", port=args.port,
                log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
