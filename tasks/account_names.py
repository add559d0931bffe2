"""The bank's account-name verification (账户实名验证): does this account belong to this person (name and resident
ID number)? Asked before an account the policyholder names becomes one of the holder's verified accounts.

The simulated bank (demo and tests) knows the accounts opened in it with `open_account`; any other account is
unknown to it. A real bank's answer has the same shape."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from .crypto import normalize

# Why the bank did not confirm an account: the plain reasons a refusal gives.
NO_SUCH_ACCOUNT = "no_such_account"
NAME_MISMATCH = "account_name_mismatch"


@dataclass(frozen=True)
class AccountNameAnswer:
    """The bank's answer: whether the account is the person's, and why not."""

    matched: bool
    reason: str | None = None


class AccountNameService(Protocol):
    """What InsureFlow asks a bank about an account's holder."""

    def verify(self, account: str, name: str, id_number: str) -> AccountNameAnswer:
        """Whether `account` is held by the person with `name` and `id_number`."""


@dataclass
class SimulatedBank:
    """An in-process bank: accounts opened with `open_account`; `asked` counts the questions it was asked."""

    holders: dict[str, tuple[str, str]] = field(default_factory=dict)
    asked: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def open_account(self, account: str, name: str, id_number: str) -> None:
        """An account held by the person with `name` and `id_number`."""
        with self._lock:
            self.holders[normalize(account)] = (normalize(name), normalize(id_number))

    def verify(self, account: str, name: str, id_number: str) -> AccountNameAnswer:
        with self._lock:
            self.asked += 1
            holder = self.holders.get(normalize(account))
        if holder is None:
            return AccountNameAnswer(False, NO_SUCH_ACCOUNT)
        if holder != (normalize(name), normalize(id_number)):
            return AccountNameAnswer(False, NAME_MISMATCH)
        return AccountNameAnswer(True)
