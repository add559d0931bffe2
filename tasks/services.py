"""What the insurance handlers need besides the handler context: handed in by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from .crypto import PersonalDataCipher
from .payment_gateway import PaymentGateway


@dataclass(frozen=True)
class DomainServices:
    """The domain's dependencies, reached by handlers as `ctx.services`."""

    cipher: PersonalDataCipher
    gateway: PaymentGateway
