"""The simulated gateway's ledger file: one answer per key for every process of an instance and after a
restart, seeded fault injection, and a process really killed right after a payment is booked."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from insureflow import instance_folder
from insureflow.bootstrap import build_gateway
from insureflow.instance_folder import InstanceFolderError
from tasks.gateway_ledger import CRASH_EXIT_CODE, FAULTS, GatewayFaults, LedgerGateway
from tasks.payment_gateway import GatewayTimeoutError
from tests.conftest import ROOT

ACCOUNT = "6222020200112233445"


class Exited(Exception):
    """What the test's exit function raises instead of ending the test process."""


def exit_for_test(code: int) -> None:
    raise Exited(code)


def test_two_gateways_on_one_ledger_pay_a_key_once(tmp_path: Path) -> None:
    first, second = LedgerGateway(tmp_path / "l.db"), LedgerGateway(tmp_path / "l.db")  # two workers
    answer = first.pay("claim:C1:ab:payout:1", Decimal("100.00"), ACCOUNT, "claim C1")
    again = second.pay("claim:C1:ab:payout:1", Decimal("100.00"), ACCOUNT, "claim C1")
    assert answer.accepted and again == answer
    assert second.status("claim:C1:ab:payout:1") == answer
    assert [(e.key, e.outcome, e.amount) for e in second.entries()] == [("claim:C1:ab:payout:1", "accepted",
                                                                         Decimal("100.00"))]
    assert ACCOUNT.encode() not in (tmp_path / "l.db").read_bytes()  # no account number is kept


def test_a_restarted_gateway_remembers_payments_and_declines(tmp_path: Path) -> None:
    gateway = LedgerGateway(tmp_path / "l.db")
    gateway.script = ["decline"]
    assert not gateway.pay("k:1", Decimal("5"), ACCOUNT, "p").accepted
    gateway.pay("k:2", Decimal("6"), ACCOUNT, "p")
    restarted = LedgerGateway(tmp_path / "l.db")
    declined = restarted.status("k:1")
    assert declined is not None and (declined.accepted, declined.reason, declined.amount) == (
        False, "account closed", Decimal("5"))
    assert restarted.pay("k:1", Decimal("5"), ACCOUNT, "p").accepted is False  # a declined key stays declined
    assert restarted.status("k:2").accepted and restarted.status("k:3") is None


def test_a_timeout_books_nothing_and_accept_then_timeout_books_the_payment(tmp_path: Path) -> None:
    gateway = LedgerGateway(tmp_path / "l.db")
    gateway.script = ["timeout", "accept_then_timeout"]
    with pytest.raises(GatewayTimeoutError):
        gateway.pay("k:1", Decimal("5"), ACCOUNT, "p")
    assert gateway.status("k:1") is None
    with pytest.raises(GatewayTimeoutError):
        gateway.pay("k:1", Decimal("5"), ACCOUNT, "p")
    assert gateway.status("k:1").accepted


def test_crash_after_accept_books_the_payment_then_ends_the_process(tmp_path: Path) -> None:
    gateway = LedgerGateway(tmp_path / "l.db", GatewayFaults({"crash_after_accept": 1.0}), exit_for_test)
    with pytest.raises(Exited):
        gateway.pay("k:1", Decimal("5"), ACCOUNT, "p")
    assert gateway.status("k:1").accepted


def test_a_real_process_killed_after_the_booking_leaves_the_payment_in_the_ledger(tmp_path: Path) -> None:
    script = ("import sys; from decimal import Decimal; from pathlib import Path;"
              "from tasks.gateway_ledger import GatewayFaults, LedgerGateway;"
              "g = LedgerGateway(Path(sys.argv[1]), GatewayFaults({'crash_after_accept': 1.0}));"
              "g.pay('k:1', Decimal('9.50'), 'x', 'p'); print('survived')")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "l.db")], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == CRASH_EXIT_CODE and "survived" not in done.stdout
    assert LedgerGateway(tmp_path / "l.db").status("k:1").amount == Decimal("9.50")


def test_faults_are_drawn_from_the_seed(tmp_path: Path) -> None:
    faults = GatewayFaults({"decline": 0.3, "timeout": 0.2}, seed=99)

    def outcomes(folder: Path) -> list[str]:
        folder.mkdir()
        gateway, seen = LedgerGateway(folder / "l.db", faults), []
        for n in range(40):
            try:
                seen.append("paid" if gateway.pay(f"k:{n}", Decimal("1"), ACCOUNT, "p").accepted else "declined")
            except GatewayTimeoutError:
                seen.append("timeout")
        return seen

    first = outcomes(tmp_path / "a")
    assert first == outcomes(tmp_path / "b")
    assert {"paid", "declined", "timeout"} == set(first)


@pytest.mark.parametrize(("raw", "message"), [
    ({"faults": {"explode": 0.1}}, "unknown explode"),
    ({"faults": {"decline": 1.5}}, "decline must be a probability"),
    ({"faults": {"decline": True}}, "decline must be a probability"),
    ({"faults": {"decline": 0.6, "timeout": 0.6}}, "add up to more than 1"),
    ({"faults": "often"}, "must be a table"),
    ({"seed": "x"}, "seed must be a whole number"),
])
def test_wrong_fault_settings_are_refused_with_the_reason(raw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GatewayFaults.parse(raw)


def _instance(tmp_path: Path, gateway: str) -> instance_folder.InstanceConfig:
    folder = tmp_path / "instance"
    instance_folder.create(folder, f"sqlite:///{tmp_path / 'x.db'}")
    config = folder / instance_folder.CONFIG_NAME
    config.write_text(config.read_text(encoding="utf-8").replace("[gateway]\n", f"[gateway]\n{gateway}\n"),
                      encoding="utf-8")
    return instance_folder.load(folder)


def test_an_instance_books_in_its_own_folder_with_the_configured_faults(tmp_path: Path) -> None:
    config = _instance(tmp_path, "faults = { decline = 0.25 }\nseed = 7")
    gateway = build_gateway(config)
    assert gateway.path == config.path / "gateway-ledger.db" and gateway.path.exists()
    assert (gateway.faults.rates, gateway.faults.seed) == ({"decline": 0.25}, 7)
    assert set(FAULTS) >= set(gateway.faults.rates)


@pytest.mark.parametrize(("settings", "message"), [
    ('kind = "bank-of-x"', "kind 'bank-of-x' is not known"),
    ("retries = 3", "unknown \\[gateway\\] settings: retries"),
    ("faults = { crash = 1 }", "unknown crash"),
    ('account_names = { "6222020200112233445" = 7 }', "account_names must be a table of account = holder's name"),
])
def test_a_wrong_gateway_setting_stops_the_instance_with_the_file_named(tmp_path: Path, settings: str,
                                                                         message: str) -> None:
    with pytest.raises(InstanceFolderError, match=f"insureflow.toml: .*{message}"):
        build_gateway(_instance(tmp_path, settings))


def test_the_simulated_banks_account_name_check_knows_the_configured_accounts_only(tmp_path: Path) -> None:
    # Issue 12, item 19: a claim's corrected payee account is checked against the name the bank holds.
    gateway = build_gateway(_instance(tmp_path, f'account_names = {{ "{ACCOUNT}" = "Li Na 李娜" }}'))

    assert gateway.account_holder_name(ACCOUNT) == "Li Na 李娜"
    assert gateway.account_holder_name("6222020200199999999") is None
