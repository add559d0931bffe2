"""Payment chaos run: at least 1,000 processes killed right after the bank booked a payment, with
declines, timeouts and accept-then-timeouts mixed in, on the served app (gunicorn and the supervised
timer worker) driven by eight REST clients — then double, lost and stuck payments counted.

    python bench/payment_chaos.py [--claims N] [--clients 8] [--workers 2] [--database-url URL]
                                  [--crash 0.8] [--decline 0.05] [--timeout 0.05] [--accept-then-timeout 0.05]

Not part of `make test` (tests/cli/test_payment_chaos.py is its CI-sized sibling); prints its figures
and exits 1 when any payment was doubled, lost or stuck. The harness is tests/chaos.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import chaos  # noqa: E402


def main() -> int:
    """Run, print the figures, and fail on any doubled, lost or stuck payment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="default: an SQLite file in a temporary folder")
    parser.add_argument("--crash", type=float, default=0.8, help="crash_after_accept probability")
    parser.add_argument("--decline", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=0.05)
    parser.add_argument("--accept-then-timeout", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    faults = (f"faults = {{ crash_after_accept = {args.crash}, decline = {args.decline}, timeout = {args.timeout}, "
              f"accept_then_timeout = {args.accept_then_timeout} }}\nseed = {args.seed}")
    # Incidents (timeouts) are retried by the timer worker quickly and often enough to end within the run.
    # A payment whose process died is taken over by the worker 2 s after its intent (45 s by default).
    engine = ("incident_max_retries = 8\nincident_backoff_seconds = 0.5\neffect_timeout_seconds = 1.5\n"
              "effect_grace_seconds = 2")
    with tempfile.TemporaryDirectory(prefix="insureflow-chaos-") as tmp:
        folder = Path(tmp) / "instance"
        url = args.database_url or f"sqlite:///{folder / 'insureflow.db'}"
        began = time.monotonic()
        people = chaos.prepare(folder, url, args.claims, faults, engine)
        print(f"prepared {args.claims} policies in {time.monotonic() - began:.1f} s; faults: {faults.splitlines()[0]}")
        report = chaos.run(folder, people, args.clients, args.workers, progress=lambda line: print("  " + line))
    print(f"claims driven            {report.claims} in {report.seconds:.0f} s "
          f"({report.claims / report.seconds:.1f} claims/s)")
    print(f"processes killed         {report.crashes} after the bank booked a payment "
          f"({report.web_crashes} web workers, {report.worker_crashes} timer workers)")
    print(f"requests sent again      {report.resent}")
    print(f"gateway outcomes         {report.gateway_outcomes}")
    print(f"double payments          {len(report.double_payments)}")
    print(f"lost payments            {len(report.lost_payments)} (ledger and database disagree)")
    print(f"stuck cases              {len(report.stuck_cases)} (no task, no incident, not completed)")
    print(f"claims not paid          {len(report.unpaid_claims)}")
    ledger, verified = ("ok" if good else "FAILED" for good in (report.ledger_ok, report.verify_ok))
    print(f"payments ledger / verify {ledger} / {verified}")
    bad = (report.double_payments or report.lost_payments or report.stuck_cases or report.unpaid_claims
           or not report.ledger_ok or not report.verify_ok)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
