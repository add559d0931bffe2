"""Claim numbers under sustained concurrent registrations (found by bench/pg_scale_bench.py, issue 16): every
registration gets a number, however many run at once, and none becomes an incident."""

from __future__ import annotations

import threading

from tasks.records import PolicyRecord
from tests.domain.test_claims_handlers import add_customer, add_policy, file_claim, make_id

CLERKS, CLAIMS_EACH = 10, 6
# The rest of the step after open_claim (verification, fraud screening, notices, persisting the case) keeps the
# registration's transaction open about this long on the served app under load.
REST_OF_STEP_SECONDS = 0.02


def test_ten_clerks_registering_at_once_all_get_numbers(domain) -> None:
    with domain.session_factory() as session, session.begin():
        ids = [make_id() for _ in range(CLERKS)]
        policies = [add_policy(session, add_customer(session, domain.services.cipher, id_number=i)).id for i in ids]
    numbers: list[str] = []
    errors: list[BaseException] = []

    def clerk(n: int) -> None:
        for _ in range(CLAIMS_EACH):
            try:
                with domain.session_factory() as s, s.begin():
                    result = file_claim(domain, s, s.get(PolicyRecord, policies[n]), ids[n])
                    # the transaction stays open for the rest of the step (an Event waits on the monotonic clock,
                    # which test-later leaves alone: libfaketime's sleep refuses such short waits with EINVAL)
                    threading.Event().wait(REST_OF_STEP_SECONDS)
                numbers.append(result["claim_number"])
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(CLERKS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [str(e) for e in errors] == []
    assert len(set(numbers)) == len(numbers) == CLERKS * CLAIMS_EACH
