"""Shared by the claim-status tests over HTTP: the demo's claims and the access codes their acknowledgements
told the claimants (read from the outbox, where the code is kept encrypted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tasks.office_records import NotificationRecord
from tasks.records import ClaimRecord
from tests.e2e.conftest import Site


def claim_in(site: Site, status: str, nth: int = 0) -> ClaimRecord:
    """The demo's nth claim with this status, oldest first."""
    with site.wired.runtime.uow() as uow:
        claims = list(uow.session.scalars(select(ClaimRecord).where(ClaimRecord.status == status)
                                          .order_by(ClaimRecord.id)))
        assert len(claims) > nth, f"the demo has no claim {nth} with status {status}"
        uow.session.expunge(claims[nth])
    return claims[nth]


def access_code(site: Any, claim: ClaimRecord | str) -> str:
    """The access code the claimant's latest acknowledgement carries (a Site or a browser test's LiveSite; the
    claim or its number)."""
    number = claim if isinstance(claim, str) else claim.number
    cipher = site.wired.runtime.services.cipher
    with site.wired.runtime.uow() as uow:
        sent = [cipher.reveal("notification", n.params) for n in uow.session.scalars(
            select(NotificationRecord).where(NotificationRecord.template == "claim_acknowledged")
            .order_by(NotificationRecord.id))]
    codes = [p["access_code"] for p in sent if p.get("claim_number") == number]
    assert codes, f"no acknowledgement for {number}"
    return str(codes[-1])


def wrong(code: str) -> str:
    """Another code of the same shape."""
    return ("B" if code[0] != "B" else "C") + code[1:]
