"""The simulated payment gateway of an instance, with its ledger in an SQLite file of the instance folder.

Every web worker, the timer worker and the command line of one instance — and each of them after a
restart — see the same payments, as they would see one bank. Faults can be injected for tests and
demos (`[gateway] faults` in insureflow.toml): declines, timeouts, accept-then-timeout, and
crash-after-accept, which ends the process right after the payment is booked. No account number is
kept: the ledger holds keys, amounts and purposes only.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.registry import private_file

from .payment_gateway import GatewayAnswer, GatewayTimeoutError

FAULTS = ("decline", "timeout", "accept_then_timeout", "crash_after_accept")
CRASH_EXIT_CODE = 70  # what a process killed by crash_after_accept exits with
DECLINE_REASON = "account closed"

_SCHEMA = """CREATE TABLE IF NOT EXISTS ledger (
    key TEXT PRIMARY KEY, outcome TEXT NOT NULL, amount TEXT NOT NULL, purpose TEXT NOT NULL, booked_at TEXT NOT NULL
)"""


@dataclass(frozen=True)
class GatewayFaults:
    """How often each fault strikes a payment the gateway has not seen yet, drawn from a seeded generator."""

    rates: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> GatewayFaults:
        """From `[gateway]`'s `faults` table and `seed`; ValueError names what is wrong."""
        rates = raw.get("faults", {})
        if not isinstance(rates, Mapping):
            raise ValueError("[gateway] faults must be a table of fault = probability")
        unknown = sorted(set(rates) - set(FAULTS))
        if unknown:
            raise ValueError(f"[gateway] faults: unknown {', '.join(unknown)} (known: {', '.join(FAULTS)})")
        for name, rate in rates.items():
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                raise ValueError(f"[gateway] faults: {name} must be a probability from 0 to 1, not {rate!r}")
        if sum(rates.values()) > 1:
            raise ValueError("[gateway] faults: the probabilities add up to more than 1")
        seed = raw.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"[gateway] seed must be a whole number, not {seed!r}")
        return cls({name: float(rate) for name, rate in rates.items()}, seed)


@dataclass(frozen=True)
class LedgerEntry:
    """One key the gateway has answered for good."""

    key: str
    outcome: str  # accepted / declined
    amount: Decimal
    purpose: str
    booked_at: str


class LedgerGateway:
    """The simulated gateway: one answer per key, kept in `path`; `script` (one word per next payment, as
    SimulatedGateway's) goes before the configured faults. Its account-name verification knows the accounts of
    `account_names` (`[gateway] account_names` in insureflow.toml: account = holder's name) and no others."""

    def __init__(self, path: Path, faults: GatewayFaults | None = None,
                 exit_process: Callable[[int], Any] = os._exit, account_names: Mapping[str, str] | None = None):
        self.path = path
        self.faults = faults or GatewayFaults()
        self.script: list[str] = []
        self.account_names: dict[str, str] = dict(account_names or {})
        # The seed and the process: the same draws in the same process every time, different draws in each
        # web worker (a worker started again after a crash does not repeat its predecessor's draws).
        self._random = random.Random(f"{self.faults.seed}:{os.getpid()}")
        self._exit = exit_process
        self._local = threading.local()
        private_file(path)  # the ledger, like the database, is the owner's alone (0600)
        self._connect().execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection to the ledger, opened once per thread and process (a connection never crosses
        a fork). WAL with synchronous=NORMAL: a booking survives the crash of any process (the chaos tests kill
        them); only a power cut could lose the last ones — it is a simulation of a bank, not one."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            local.conn, local.pid = conn, os.getpid()
        return local.conn

    def pay(self, key: str, amount: Decimal, account: str, purpose: str) -> GatewayAnswer:
        """Pay once per key; a known key gets its first answer again."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")  # one booking per key across every process of the instance
            known = self._read(conn, key)
            if known is not None:
                conn.execute("ROLLBACK")
                return _answer(known)
            behaviour = self.script.pop(0) if self.script else self._draw()
            if behaviour == "timeout":
                conn.execute("ROLLBACK")
                raise GatewayTimeoutError("payment gateway did not answer")
            outcome = "declined" if behaviour == "decline" else "accepted"
            conn.execute("INSERT INTO ledger VALUES (?, ?, ?, ?, ?)",
                         (key, outcome, str(amount), purpose, datetime.now(UTC).isoformat()))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if behaviour == "crash_after_accept":
            self._exit(CRASH_EXIT_CODE)
        if behaviour == "accept_then_timeout":
            raise GatewayTimeoutError("payment gateway did not answer")
        return _answer(LedgerEntry(key, outcome, Decimal(str(amount)), purpose, ""))

    def status(self, key: str) -> GatewayAnswer | None:
        """The answer the gateway gave for `key`; None when it never booked it."""
        entry = self._read(self._connect(), key)
        return None if entry is None else _answer(entry)

    def account_holder_name(self, account: str) -> str | None:
        """The bank's account-name verification: the name the account is held in; None for an account the
        simulated bank does not know."""
        return self.account_names.get(account)

    def entries(self, prefix: str = "") -> list[LedgerEntry]:
        """Everything booked, oldest first; only keys starting with `prefix` when given."""
        rows = self._connect().execute("SELECT key, outcome, amount, purpose, booked_at FROM ledger WHERE key LIKE ? "
                                       "ESCAPE '\\' ORDER BY booked_at, key", (_like_prefix(prefix),)).fetchall()
        return [LedgerEntry(k, o, Decimal(a), p, b) for k, o, a, p, b in rows]

    def _draw(self) -> str:
        roll, bound = self._random.random(), 0.0
        for name in FAULTS:
            bound += self.faults.rates.get(name, 0.0)
            if roll < bound:
                return name
        return "ok"

    @staticmethod
    def _read(conn: sqlite3.Connection, key: str) -> LedgerEntry | None:
        row = conn.execute("SELECT key, outcome, amount, purpose, booked_at FROM ledger WHERE key = ?",
                           (key,)).fetchone()
        return None if row is None else LedgerEntry(row[0], row[1], Decimal(row[2]), row[3], row[4])


def _answer(entry: LedgerEntry) -> GatewayAnswer:
    if entry.outcome == "accepted":
        return GatewayAnswer(True, f"SIM-{entry.key}", amount=entry.amount)
    return GatewayAnswer(False, reason=DECLINE_REASON, amount=entry.amount)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
