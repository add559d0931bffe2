"""The payment gateway interface, and the simulated gateway used by the demo and the tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


class GatewayTimeoutError(Exception):
    """No answer: the payment may or may not have been accepted. Ask `status` before paying again."""


@dataclass(frozen=True)
class GatewayAnswer:
    """The gateway's answer to a payment or a status question."""

    accepted: bool
    reference: str | None = None
    reason: str | None = None
    amount: Decimal | None = None  # what the gateway holds for the key, when it tells


class PaymentGateway(Protocol):
    """What InsureFlow needs from a bank or payment provider."""

    def pay(self, key: str, amount: Decimal, account: str, purpose: str) -> GatewayAnswer:
        """Pay once per `key`: a repeated key never pays twice. May raise GatewayTimeoutError."""

    def status(self, key: str) -> GatewayAnswer | None:
        """What happened to the payment with `key` (accepted or declined, with its amount); None when the
        gateway never received it."""

    def account_holder_name(self, account: str) -> str | None:
        """The bank's account-name verification (账户名核验): the name the account is held in, None when the bank
        cannot say (unknown account). Reads only; pays nothing."""


@dataclass
class SimulatedGateway:
    """An in-process gateway that can be told to fail, time out, or time out after accepting.

    `script` holds the behaviour of the next calls, one word each: "ok", "decline", "timeout"
    (nothing happens), "accept_then_timeout" (the payment is made but the answer is lost). Like real
    gateways it answers a repeated key with its first answer: a key is paid, or declined, once.
    `account_names` is what its account-name verification knows: account → holder's name.
    """

    script: list[str] = field(default_factory=list)
    account_names: dict[str, str] = field(default_factory=dict)
    paid: dict[str, tuple[Decimal, str]] = field(default_factory=dict)
    declined: dict[str, tuple[Decimal, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def pay(self, key: str, amount: Decimal, account: str, purpose: str) -> GatewayAnswer:
        with self._lock:
            known = self._answer(key)
            if known is not None:
                return known
            behaviour = self.script.pop(0) if self.script else "ok"
            if behaviour == "decline":
                self.declined[key] = (amount, "account closed")
                return GatewayAnswer(False, reason="account closed", amount=amount)
            if behaviour == "timeout":
                raise GatewayTimeoutError("payment gateway did not answer")
            self.paid[key] = (amount, purpose)
            if behaviour == "accept_then_timeout":
                raise GatewayTimeoutError("payment gateway did not answer")
            return GatewayAnswer(True, f"SIM-{key}", amount=amount)

    def status(self, key: str) -> GatewayAnswer | None:
        with self._lock:
            return self._answer(key)

    def account_holder_name(self, account: str) -> str | None:
        with self._lock:
            return self.account_names.get(account)

    def _answer(self, key: str) -> GatewayAnswer | None:
        if key in self.paid:
            return GatewayAnswer(True, f"SIM-{key}", amount=self.paid[key][0])
        if key in self.declined:
            amount, reason = self.declined[key]
            return GatewayAnswer(False, reason=reason, amount=amount)
        return None
