"""The payments reconciliation: every payment key the gateway booked beside the database's record of it."""

from __future__ import annotations

from engine.errors import InvalidInputError, NotFoundError
from engine.workflow.runtime import Runtime
from tasks.gateway_ledger import LedgerGateway
from tasks.payment_ledger import LedgerLine, reconcile, subject_prefix


def ledger_lines(rt: Runtime, claim_number: str | None = None, policy_number: str | None = None) -> list[LedgerLine]:
    """Both sides of every payment key of the instance, or only of one claim's payouts or one policy's refunds
    (NotFoundError when that claim or policy does not exist; InvalidInputError when the gateway keeps no ledger)."""
    gateway = rt.services.gateway
    if not isinstance(gateway, LedgerGateway):  # an instance folder always has one; a test harness may not
        raise InvalidInputError("this instance's gateway keeps no ledger to compare with")
    with rt.uow(read_only=True) as uow:
        prefix: str | None = ""
        if claim_number is not None or policy_number is not None:
            prefix = subject_prefix(uow.session, claim_number, policy_number)
            if prefix is None:
                raise NotFoundError(f"no {'claim' if claim_number is not None else 'policy'} "
                                    f"{claim_number or policy_number}")
        return reconcile(uow.session, gateway.entries(prefix or ""), rt.clock(), prefix or "")
