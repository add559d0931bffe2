"""How an account becomes a verified account of the policyholder (the term helper's item 2): the account the holder
names for a refund goes through the bank's account-name verification; on a match it is kept (encrypted, with its
keyed hash) as the holder's verified account — recorded in the case's history — and reused by later refunds without
asking again; a mismatch refuses the request with a plain reason. Real diagrams, tables and handlers; each test ends
with a consistent replay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.demo.data import demo_identity
from tasks.account_names import SimulatedBank
from tasks.office_records import NotificationRecord
from tasks.payment_records import PaymentRecord
from tasks.refund_accounts import HolderAccountRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_scenarios import assert_replays, events, messages, policy, rows
from tests.bpmn.test_termination_scenarios import (
    LIFE,
    LIFE_HOLDER,
    add_policy,
    approval,
    assert_in_force,
    assert_terminated,
    confirm,
    refunds,
    request_form,
    request_termination,
)

NAMED_ACCOUNT = "6222600011112222444"  # an account the holder names at the counter, not yet verified


def bank(insurer: Insurer) -> SimulatedBank:
    """The simulated bank the handlers ask."""
    found = insurer.rt.services.account_names
    assert isinstance(found, SimulatedBank)
    return found


def opened_by(insurer: Insurer, customer: int, account: str = NAMED_ACCOUNT) -> None:
    """The bank holds `account` in the name of the demo customer at index `customer`."""
    name, id_number, _phone = demo_identity(customer)
    bank(insurer).open_account(account, name, id_number)


def holder_accounts(insurer: Insurer) -> list[HolderAccountRecord]:
    """The verified accounts on record."""
    return rows(insurer, HolderAccountRecord)


def test_an_account_the_bank_confirms_in_the_holders_name_becomes_a_verified_account_and_is_paid(
        insurer: Insurer) -> None:
    opened_by(insurer, LIFE_HOLDER)
    assert holder_accounts(insurer) == []

    case = request_termination(insurer, request_form(account=NAMED_ACCOUNT))

    check = insurer.data(case)["account_check"]
    assert check == {"allowed": True, "source": "holder_account", "account_last4": NAMED_ACCOUNT[-4:],
                     "reasons": [], "account_verification": "bank_name_check"}
    [kept] = holder_accounts(insurer)
    assert (kept.customer_id, kept.verified_by, kept.verified_at) == (
        policy(insurer, LIFE).holder_id, "bank_name_check", insurer.clock())
    assert kept.account_hash == insurer.cipher.lookup_hash(NAMED_ACCOUNT)
    assert NAMED_ACCOUNT.encode() not in kept.account_enc  # encrypted
    assert insurer.cipher.decrypt(kept.account_enc) == NAMED_ACCOUNT
    [checked] = [e for e in events(insurer, case, "handler_executed") if e["task"] == "svc_check_refund_account"]
    assert "'account_verification': 'bank_name_check'" in str(checked["payload"])  # in the case's history
    assert NAMED_ACCOUNT not in str(checked["payload"])  # the account itself only encrypted
    confirm(insurer, case)
    assert insurer.complete(case, "approve_refund", "finance", approval()) == "completed"

    [paid] = rows(insurer, PaymentRecord)
    assert insurer.cipher.decrypt(paid.payee_account_enc) == NAMED_ACCOUNT
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "accepted")]
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)


def test_an_account_the_bank_holds_in_another_name_is_refused_with_a_plain_reason(insurer: Insurer) -> None:
    opened_by(insurer, 0)  # Li Hua's account, named for Zhang Qiang's refund

    case = request_termination(insurer, request_form(account=NAMED_ACCOUNT))

    assert insurer.status(case) == "completed"
    check = insurer.data(case)["account_check"]
    assert (check["allowed"], check["reasons"], check["account_verification"]) == (
        False, ["account_name_mismatch"], None)
    assert holder_accounts(insurer) == []  # nothing kept
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_in_force(insurer, LIFE)
    [told] = rows(insurer, NotificationRecord)
    assert (told.template, told.customer_id) == ("termination_refused", policy(insurer, LIFE).holder_id)
    assert (told.params["reason"], told.params["reasons"]) == ("refund_account", ["account_name_mismatch"])
    assert_replays(insurer, case)


def test_an_account_unknown_to_the_bank_is_refused(insurer: Insurer) -> None:
    case = request_termination(insurer, request_form(account=NAMED_ACCOUNT))

    assert insurer.data(case)["account_check"]["reasons"] == ["no_such_account"]
    assert holder_accounts(insurer) == []
    assert messages(insurer) == [("termination_refused", policy(insurer, LIFE).holder_id)]
    assert_replays(insurer, case)


def test_a_verified_account_is_reused_by_a_later_refund_without_asking_the_bank_again(insurer: Insurer) -> None:
    opened_by(insurer, LIFE_HOLDER)
    first = request_termination(insurer, request_form(account=NAMED_ACCOUNT))
    insurer.complete(first, "customer_confirmation", "agent", {"customer_decision": "withdraw"})
    assert bank(insurer).asked == 1
    add_policy(insurer, "PTEST00005", LIFE_HOLDER, "LIFE20", date(2022, 3, 1), annual_premium="2280",
               premiums_paid="11400", term_years=20)

    later = request_termination(insurer, request_form("PTEST00005", account=NAMED_ACCOUNT))

    check = insurer.data(later)["account_check"]
    assert (check["allowed"], check["source"], check["account_verification"]) == (True, "holder_account", None)
    assert bank(insurer).asked == 1  # the holder's verified account, on record
    assert len(holder_accounts(insurer)) == 1
    confirm(insurer, later)
    assert insurer.complete(later, "approve_refund", "finance", approval()) == "completed"
    [paid] = rows(insurer, PaymentRecord)
    assert insurer.cipher.decrypt(paid.payee_account_enc) == NAMED_ACCOUNT
    assert_replays(insurer, first)
    assert_replays(insurer, later)
