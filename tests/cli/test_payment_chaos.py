"""Chaos, black-box: the served app (gunicorn, two workers, the timer worker) with every new payment
crashing the process that made it right after the bank booked it, eight clients driving claims to
payout over HTTP and sending again whatever a dead worker never answered. At the end the gateway holds
exactly one payment per claim, every claim is paid, no case is stuck, and `payments ledger` and
`verify` find nothing wrong. (bench/payment_chaos.py runs the same with every kind of fault mixed.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import chaos

CLAIMS = 200  # each claim's first payout kills its worker: CLAIMS crashes per database


@pytest.mark.slow
def test_crashes_after_the_bank_accepted_never_pay_a_claim_twice(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    # The worker takes a dead process's payment over 2 s after its intent (45 s by default).
    people = chaos.prepare(folder, db_url, CLAIMS, "faults = { crash_after_accept = 1.0 }\nseed = 1204",
                           "effect_timeout_seconds = 1.5\neffect_grace_seconds = 2")

    report = chaos.run(folder, people)

    assert report.web_crashes >= CLAIMS  # gunicorn started a worker again after every one
    assert report.resent >= CLAIMS  # each killed request was sent again and answered
    assert report.gateway_outcomes["accepted"] == CLAIMS  # one payment per claim (the demo's decline aside)
    assert report.double_payments == [] and report.lost_payments == [] and report.stuck_cases == []
    assert report.unpaid_claims == []
    assert report.ledger_ok and report.verify_ok
