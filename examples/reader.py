"""A payer reading paywalled pages: `farthing.paywall.Client` answers each 402 from a channel.

    python examples/reader.py --platform http://127.0.0.1:8402 --key sk_test_…(customer) \
        http://127.0.0.1:8001/articles/1 http://127.0.0.1:8001/articles/2
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import httpx

from farthing.paywall import Budget, Client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--platform", default=os.environ.get("FARTHING_URL", "http://127.0.0.1:8402"))
    parser.add_argument("--key", default=os.environ.get("FARTHING_CUSTOMER_KEY"))
    parser.add_argument("--form", choices=["voucher", "hashchain"], default="voucher")
    parser.add_argument("--repeat", type=int, default=1, help="read the pages this many times")
    parser.add_argument(
        "--state",
        type=Path,
        default=Path.home() / ".farthing" / "reader-channels.json",
        help="where open channels are kept for the next run (the reader's alone)",
    )
    args = parser.parse_args()
    if not args.key:
        parser.error("give the customer's API key (--key; `farthing serve --demo` prints one)")
    budget = Budget("USD", per_request="0.01", per_host="1.00", total="2.00")
    pay = Client(platform_url=args.platform, api_key=args.key, budget=budget, deposit="0.50", form=args.form,
                 state=args.state)  # fmt: skip
    with httpx.Client(transport=pay, timeout=30) as http:
        for _ in range(args.repeat):
            for url in args.urls:
                r = http.get(url)
                print(r.status_code, url, r.text[:80] if r.status_code == 200 else r.headers.get("content-type"))
    print(f"spent {pay.cur.format(pay.spent)} {pay.cur.code} over {len(pay.channels)} channel(s)")


if __name__ == "__main__":
    main()
