"""What the insurance handlers need besides the handler context: handed in by the composition root."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .account_names import AccountNameService, SimulatedBank
from .crypto import PersonalDataCipher
from .documents import MAX_DOCUMENT_BYTES
from .payment_gateway import PaymentGateway, SimulatedGateway


@dataclass(frozen=True)
class DomainServices:
    """The domain's dependencies, reached by handlers as `ctx.services`."""

    cipher: PersonalDataCipher
    gateway: PaymentGateway
    # The largest claim document an upload may hold (the instance's setting).
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    # The bank's account-name verification (a simulated bank unless the composition root wires a real one).
    account_names: AccountNameService = field(default_factory=SimulatedBank)


def simulated(services: DomainServices | None) -> DomainServices | None:
    """The services a dry run gets: the same cipher, a simulated gateway of its own — never a real one."""
    # Every way a dry run is started (API, CLI, studio) comes through here, so no path can reach a real
    # payment gateway; a fresh gateway per run keeps one run's payments out of the next.
    return None if services is None else dataclasses.replace(services, gateway=SimulatedGateway())
