"""Settlement benchmark (docs/architecture.md section 8, issue 7): a 1,000,000-line V2 settlement file.

Times parse + GL mapping + journal build (summary and detail mode) and their peak memory, each in a
fresh process, against a plain ``pandas.read_csv`` of the same file (target: at most 3x the time and
2.5x the peak memory). The settlement spans a month end, so it is split at the period end as the
shipped marketplaces.csv does. Prints figures and ratios; asserts nothing.

Usage: ``python bench/settlement_parse.py [LINES]`` (default 1,000,000)
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

TYPES = [
    ("Order", "ItemPrice", "Principal", 500, 9000),
    ("Order", "ItemPrice", "Tax", 20, 900),
    ("Order", "ItemPrice", "Shipping", 0, 999),
    ("Order", "Promotion", "Principal", -500, 0),
    ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -900, -20),
    ("Order", "ItemFees", "Commission", -1500, -50),
    ("Order", "ItemFees", "FBAPerUnitFulfillmentFee", -800, -200),
    ("Refund", "ItemPrice", "Principal", -9000, -500),
    ("Refund", "ItemFees", "RefundCommission", -200, -10),
]


def generate(path: Path, lines: int) -> None:
    from amazon_netsuite.transforms.settlements import COLUMNS

    rng = random.Random(7)
    index = {c: i for i, c in enumerate(COLUMNS)}
    total = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("\t".join(COLUMNS) + "\n")
        body = []
        for n in range(lines - 2):
            t, a, d, low, high = TYPES[n % len(TYPES)]
            cents = rng.randint(low, high)
            total += cents
            cells = [""] * len(COLUMNS)
            cells[index["settlement-id"]] = "24567890123"
            cells[index["transaction-type"]] = t
            cells[index["order-id"]] = f"113-{n // 9:07d}-{n % 9:07d}"
            cells[index["marketplace-name"]] = "Amazon.com"
            cells[index["amount-type"]] = a
            cells[index["amount-description"]] = d
            cells[index["amount"]] = f"{cents / 100:.2f}"
            cells[index["posted-date"]] = "2026-10-30" if n % 3 == 0 else "2026-11-05"  # across a month end
            cells[index["sku"]] = "ACME-MUG-11OZ"
            cells[index["quantity-purchased"]] = "1"
            body.append("\t".join(cells))
        summary = [""] * len(COLUMNS)
        summary[index["settlement-id"]] = "24567890123"
        summary[index["settlement-start-date"]] = "2026-10-25 07:48:10 UTC"
        summary[index["settlement-end-date"]] = "2026-11-08 07:48:10 UTC"
        summary[index["deposit-date"]] = "2026-11-10 07:48:10 UTC"
        summary[index["total-amount"]] = f"{total / 100:.2f}"
        summary[index["currency"]] = "USD"
        out.write("\t".join(summary) + "\n")
        out.write("\n".join(body) + "\n")


PROBE = r"""
import json, resource, sys, time
sys.path[:0] = [sys.argv[3], sys.argv[4]]
path, what = sys.argv[1], sys.argv[2]
import pandas as pd
t0, c0 = time.perf_counter(), time.process_time()
if what == "read_csv":
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    extra = {"rows": len(frame)}
else:
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.transforms.settlements import build_journal, parse_settlement
    text = open(path, encoding="utf-8").read()
    parsed = parse_settlement(text)
    del text
    plan = build_journal(parsed, load_mappings(), mode=what)
    extra = {"rows": len(parsed.rows), "parts": len(plan.parts), "lines": sum(len(p) for p in plan.parts)}
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak_mb, **extra}))
"""


def measure(path: Path, what: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path), what, str(ROOT / "plugins"), str(ROOT)],
                          capture_output=True, text=True, check=True, timeout=1800)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settlement.txt"
        t0 = time.perf_counter()
        generate(path, lines)
        size_mb = os.path.getsize(path) / 1e6
        print(f"Settlement file: {lines:,} lines, {size_mb:.0f} MB (generated in {time.perf_counter() - t0:.1f} s)")
        # CPU time as well as wall time: on a machine shared with other jobs the wall-time ratio wanders
        base = measure(path, "read_csv")
        print(f"  pandas.read_csv (baseline):        {base['seconds']:6.2f} s ({base['cpu_seconds']:5.2f} s CPU), "
              f"peak {base['peak_mb']:6.0f} MB")
        for mode in ("summary", "detail"):
            m = measure(path, mode)
            print(f"  parse + map + journal ({mode:7}):  {m['seconds']:6.2f} s ({m['cpu_seconds']:5.2f} s CPU), peak "
                  f"{m['peak_mb']:6.0f} MB  -> {m['seconds'] / base['seconds']:.2f}x the time "
                  f"({m['cpu_seconds'] / base['cpu_seconds']:.2f}x CPU), {m['peak_mb'] / base['peak_mb']:.2f}x the memory "
                  f"({m['parts']} journal part(s), {m['lines']:,} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
