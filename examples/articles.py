"""A pay-per-article site: each article costs $0.0002, paid from a payment channel over HTTP 402.

With a platform running (`farthing serve --demo` prints the merchant's id and key):

    python examples/articles.py --platform http://127.0.0.1:8402 --merchant mer_… --key sk_test_… --port 8001

Then read an article as a payer would (`python examples/reader.py …`), and redeem what was paid:

    farthing paywall redeem --store paywall-articles.db --platform http://127.0.0.1:8402 --key sk_test_…
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from fastapi import FastAPI

from farthing.paywall import Paywall, price


def build(platform: str, merchant: str, key: str, store: str, network: str = "farthing:local") -> FastAPI:
    app = FastAPI(title="The Farthing Gazette")

    @app.get("/")
    def index() -> dict[str, object]:
        """Free: the list of articles and what each costs."""
        return {"articles": [f"/articles/{n}" for n in range(1, 11)], "price": "0.0002 USD"}

    @app.get("/articles/{number}")
    @price("0.0002 USD")
    def article(number: int) -> dict[str, object]:
        return {"number": number, "title": f"Article {number}", "text": f"The full text of article {number}."}

    redeem_s = float(os.environ.get("FARTHING_PAYWALL_REDEEM_S", "600"))  # the channels redeemed by themselves
    app.add_middleware(Paywall, platform_url=platform, merchant=merchant, api_key=key, store=store, network=network,
                       redeem_every_s=redeem_s,
                       description="one article of The Farthing Gazette")  # fmt: skip
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", default=os.environ.get("FARTHING_URL", "http://127.0.0.1:8402"))
    parser.add_argument("--merchant", default=os.environ.get("FARTHING_MERCHANT"), required=False)
    parser.add_argument("--key", default=os.environ.get("FARTHING_MERCHANT_KEY"), required=False)
    parser.add_argument("--store", default="paywall-articles.db", help="where accepted payments are kept")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    if not args.merchant or not args.key:
        parser.error("name the merchant and its API key (--merchant, --key; `farthing serve --demo` prints them)")
    uvicorn.run(build(args.platform, args.merchant, args.key, args.store), host="127.0.0.1", port=args.port,
                log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
